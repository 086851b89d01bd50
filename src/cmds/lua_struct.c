/* cmds/lua_struct.c — the `struct` library scripts find in Redis 7.0:
 * struct.pack(fmt, ...), struct.unpack(fmt, s [, pos]) and struct.size(fmt),
 * converting between Lua values and C-like binary records. Written for
 * Parley after the library's documented format:
 *
 *   >  <     big / little endian (little is the default)
 *   ![n]     largest alignment n (a power of 2; no n: 8); none at first
 *   x        one padding byte
 *   b B h H l L T   signed/unsigned char, short, long, size_t (1 2 8 8)
 *   i[n] I[n]       signed/unsigned integer of n bytes (default 4, at most 32)
 *   c[n]     a string of n bytes (pack c0: the whole string; unpack c0:
 *            the length is the number unpacked just before)
 *   s        a zero-terminated string
 *   f d      float, double
 *   ' '      ignored
 *
 * Sandbox rules: the output is at most the format's items (each at most 32
 * bytes plus padding below 32) and the strings given, built through the
 * Lua API and charged per byte; counts in the format are checked for
 * overflow ("integral size overflow"); unpack never reads past its input
 * and returns at most what Lua's C stack allows ("too many results"). */
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "cmds/lua_sandbox.h"

#define INT_SIZE_MAX 32
#define ALIGN_DEFAULT 8
#define BYTES_PER_UNIT 64

struct header {
    bool big;
    int align;
};

static int get_count(lua_State *L, const char **fmt, int fallback)
{
    if (!isdigit((unsigned char)**fmt)) return fallback;
    int a = 0;
    do {
        int digit = **fmt - '0';
        if (a > INT_MAX / 10 || a * 10 > INT_MAX - digit) luaL_error(L, "integral size overflow");
        a = a * 10 + digit;
        (*fmt)++;
    } while (isdigit((unsigned char)**fmt));
    return a;
}

/* The size of one item of option opt (reading its count). */
static size_t item_size(lua_State *L, int opt, const char **fmt)
{
    switch (opt) {
    case 'B': case 'b': return 1;
    case 'H': case 'h': return 2;
    case 'L': case 'l': case 'T': return 8;
    case 'f': return 4;
    case 'd': return 8;
    case 'x': return 1;
    case 'c': return (size_t)get_count(L, fmt, 1);
    case 'i': case 'I': {
        int size = get_count(L, fmt, 4);
        if (size > INT_SIZE_MAX)
            luaL_error(L, "integral size %d is larger than limit of %d", size, INT_SIZE_MAX);
        return (size_t)size;
    }
    default: return 0;
    }
}

/* Padding before an item of `size` at offset len. As the library computes
 * it, an alignment of 0 gives a "padding" that wraps around (callers treat
 * it as the library does). */
static size_t padding(size_t len, const struct header *h, int opt, size_t size)
{
    if (size == 0 || opt == 'c') return 0;
    if (size > (size_t)h->align) size = (size_t)h->align;
    return (size - (len & (size - 1))) & (size - 1);
}

static void control_option(lua_State *L, int opt, const char **fmt, struct header *h)
{
    switch (opt) {
    case ' ':
        return;
    case '>':
        h->big = true;
        return;
    case '<':
        h->big = false;
        return;
    case '!': {
        int a = get_count(L, fmt, ALIGN_DEFAULT);
        if (a == 0 || (a & (a - 1))) luaL_error(L, "alignment %d is not a power of 2", a);
        h->align = a;
        return;
    }
    default:
        luaL_argerror(L, 1, lua_pushfstring(L, "invalid format option '%c'", opt));
    }
}

/* Copies n bytes of a native little-endian value in the order asked. */
static void put_ordered(luaL_Buffer *b, const unsigned char *p, size_t n, bool big)
{
    for (size_t i = 0; i < n; i++) luaL_addchar(b, (char)p[big ? n - 1 - i : i]);
}

static void get_ordered(unsigned char *dst, const char *src, size_t n, bool big)
{
    for (size_t i = 0; i < n; i++) dst[i] = (unsigned char)src[big ? n - 1 - i : i];
}

/* The 64-bit pattern of a Lua number as the library stores integers:
 * negative numbers as signed, others as unsigned; out of range or NaN as
 * the x86 conversion gives (the sign bit alone). */
static uint64_t integer_bits(lua_Number n)
{
    if (n < 0) {
        if (n >= -9223372036854775808.0) return (uint64_t)(int64_t)n;
        return UINT64_C(1) << 63;
    }
    if (n < 18446744073709551616.0) return (uint64_t)n;
    return UINT64_C(1) << 63;
}

static int struct_pack(lua_State *L)
{
    const char *fmt = luaL_checkstring(L, 1);
    struct header h = {false, 1};
    int arg = 2;
    size_t total = 0;
    luaL_Buffer b;
    lua_pushnil(L); /* separates the arguments from the buffer */
    luaL_buffinit(L, &b);
    while (*fmt != '\0') {
        int opt = *fmt++;
        size_t size = item_size(L, opt, &fmt);
        int64_t pad = (int64_t)padding(total, &h, opt, size);
        total += (size_t)pad;
        for (int64_t i = 0; i < pad; i++) luaL_addchar(&b, '\0');
        switch (opt) {
        case 'b': case 'B': case 'h': case 'H': case 'l': case 'L': case 'T': case 'i': case 'I': {
            uint64_t v = integer_bits(luaL_checknumber(L, arg++));
            unsigned char bytes[INT_SIZE_MAX] = {0};
            for (size_t i = 0; i < size && i < 8; i++) bytes[i] = (unsigned char)(v >> (8 * i));
            put_ordered(&b, bytes, size, h.big);
            break;
        }
        case 'x':
            luaL_addchar(&b, '\0');
            break;
        case 'f': {
            float f = (float)luaL_checknumber(L, arg++);
            put_ordered(&b, (const unsigned char *)&f, sizeof f, h.big);
            break;
        }
        case 'd': {
            double d = luaL_checknumber(L, arg++);
            put_ordered(&b, (const unsigned char *)&d, sizeof d, h.big);
            break;
        }
        case 'c': case 's': {
            size_t len;
            const char *s = luaL_checklstring(L, arg++, &len);
            if (size == 0) size = len;
            luaL_argcheck(L, len >= size, arg, "string too short");
            sandbox_charge(L, size / BYTES_PER_UNIT);
            luaL_addlstring(&b, s, size);
            if (opt == 's') {
                luaL_addchar(&b, '\0');
                size++;
            }
            break;
        }
        default:
            control_option(L, opt, &fmt, &h);
        }
        total += size;
        sandbox_charge(L, 1);
    }
    luaL_pushresult(&b);
    return 1;
}

static lua_Number read_integer(const char *p, bool big, bool is_signed, size_t size)
{
    unsigned char bytes[INT_SIZE_MAX];
    get_ordered(bytes, p, size, big);
    uint64_t v = 0;
    for (size_t i = size; i-- > 0;) v = v << 8 | bytes[i];
    if (!is_signed) return (lua_Number)v;
    if (size > 0 && size < 8 && (v >> (size * 8 - 1)) & 1) v |= ~UINT64_C(0) << (size * 8);
    return (lua_Number)(int64_t)v;
}

static int struct_unpack(lua_State *L)
{
    const char *fmt = luaL_checkstring(L, 1);
    size_t len;
    const char *data = luaL_checklstring(L, 2, &len);
    lua_Integer start = luaL_optinteger(L, 3, 1);
    luaL_argcheck(L, start > 0, 3, "offset must be 1 or greater");
    size_t pos = (size_t)start - 1;
    int n = 0;
    struct header h = {false, 1};
    while (*fmt) {
        int opt = *fmt++;
        size_t size = item_size(L, opt, &fmt);
        pos += padding(pos, &h, opt, size);
        luaL_argcheck(L, size <= len && pos <= len - size, 2, "data string too short");
        luaL_checkstack(L, 2, "too many results");
        sandbox_charge(L, 1);
        switch (opt) {
        case 'b': case 'B': case 'h': case 'H': case 'l': case 'L': case 'T': case 'i': case 'I':
            lua_pushnumber(L, read_integer(data + pos, h.big, islower(opt), size));
            n++;
            break;
        case 'x':
            break;
        case 'f': {
            float f;
            get_ordered((unsigned char *)&f, data + pos, sizeof f, h.big);
            lua_pushnumber(L, f);
            n++;
            break;
        }
        case 'd': {
            double d;
            get_ordered((unsigned char *)&d, data + pos, sizeof d, h.big);
            lua_pushnumber(L, d);
            n++;
            break;
        }
        case 'c': {
            if (size == 0) {
                if (n == 0 || !lua_isnumber(L, -1)) luaL_error(L, "format 'c0' needs a previous size");
                lua_Number want = lua_tonumber(L, -1);
                size = want >= 0 && want <= (lua_Number)len ? (size_t)want : len + 1;
                lua_pop(L, 1);
                n--;
                luaL_argcheck(L, size <= len && pos <= len - size, 2, "data string too short");
            }
            sandbox_charge(L, size / BYTES_PER_UNIT);
            lua_pushlstring(L, data + pos, size);
            n++;
            break;
        }
        case 's': {
            const char *end = memchr(data + pos, '\0', len - pos);
            if (end == NULL) luaL_error(L, "unfinished string in data");
            size = (size_t)(end - (data + pos)) + 1;
            sandbox_charge(L, size / BYTES_PER_UNIT);
            lua_pushlstring(L, data + pos, size - 1);
            n++;
            break;
        }
        default:
            control_option(L, opt, &fmt, &h);
        }
        pos += size;
    }
    lua_pushinteger(L, (lua_Integer)(pos + 1));
    return n + 1;
}

static int struct_size(lua_State *L)
{
    const char *fmt = luaL_checkstring(L, 1);
    size_t pos = 0;
    struct header h = {false, 1};
    while (*fmt) {
        int opt = *fmt++;
        size_t size = item_size(L, opt, &fmt);
        pos += padding(pos, &h, opt, size);
        if (opt == 's') luaL_argerror(L, 1, "option 's' has no fixed size");
        else if (opt == 'c' && size == 0) luaL_argerror(L, 1, "option 'c0' has no fixed size");
        if (!isalnum(opt)) control_option(L, opt, &fmt, &h);
        pos += size;
    }
    lua_pushinteger(L, (lua_Integer)pos);
    return 1;
}

static const luaL_Reg struct_functions[] = {
    {"pack", struct_pack},
    {"unpack", struct_unpack},
    {"size", struct_size},
    {NULL, NULL},
};

void lua_struct_open(lua_State *L)
{
    lua_newtable(L);
    luaL_register(L, NULL, struct_functions);
    lua_setglobal(L, "struct");
}
