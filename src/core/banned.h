/*
 * banned.h - functions tarn never calls, turned into compile errors.
 *
 * Include it last in every .c file, after the system headers.  Each banned
 * function has a safer replacement: strcpy/strcat -> struct buf or
 * snprintf; sprintf -> snprintf; strtok -> a cursor parser; atoi -> strtol
 * with an end check; gmtime/localtime -> the _r forms (thread-safe).
 */
#ifndef TN_BANNED_H
#define TN_BANNED_H

#define TN_BANNED(func) sorry_##func##_is_banned_in_tarn

#undef strcpy
#define strcpy(x, y) TN_BANNED(strcpy)
#undef strcat
#define strcat(x, y) TN_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) TN_BANNED(strncpy)
#undef sprintf
#define sprintf(...) TN_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) TN_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) TN_BANNED(strtok)
#undef atoi
#define atoi(x) TN_BANNED(atoi)
#undef atol
#define atol(x) TN_BANNED(atol)
#undef gmtime
#define gmtime(x) TN_BANNED(gmtime)
#undef localtime
#define localtime(x) TN_BANNED(localtime)
#undef gets
#define gets(x) TN_BANNED(gets)

#endif
