/* cmds/lua_strlib.c — the parts of Lua's string library that scripts run
 * with a budget: string.find, match, gmatch and gsub on our own pattern
 * matcher, and string.rep, sub, upper, lower, reverse and format charged
 * for the bytes they go through.
 *
 * Lua 5.1's matcher backtracks without limit: string.find on a 10 KB
 * string with a pattern of a dozen `.-` items runs for longer than the
 * universe, inside one instruction that no hook sees. This one has the
 * semantics of Lua 5.1's patterns (as its reference manual gives them:
 * classes %a %c %d %l %p %s %u %w %x %z and their complements, sets,
 * `.`, the quantifiers * + - ?, anchors, captures and position captures,
 * %1-%9, %b and %f, a pattern ending at its first NUL) and charges every
 * step to the run's budget, so a runaway pattern is killed like a runaway
 * loop. Recursion is bounded (MAX_DEPTH): beyond it "pattern too complex". */
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "cmds/lua_sandbox.h"

#define MAX_CAPTURES 32
#define CAP_UNFINISHED (-1)
#define CAP_POSITION (-2)
#define MAX_DEPTH 1000
#define STEPS_PER_CHARGE 1024
#define BYTES_PER_UNIT 64
#define SPECIALS "^$*+?.([%-"

struct matcher {
    lua_State *L;
    const char *src_init, *src_end;
    const char *p_end;
    int level;
    int depth;
    uint64_t steps;
    struct {
        const char *init;
        ptrdiff_t len;
    } capture[MAX_CAPTURES];
};

static void matcher_init(struct matcher *m, lua_State *L, const char *s, size_t ls, const char *p,
                         size_t lp)
{
    m->L = L;
    m->src_init = s;
    m->src_end = s + ls;
    const char *nul = memchr(p, '\0', lp);
    m->p_end = nul ? nul : p + lp;
    m->level = 0;
    m->depth = 0;
    m->steps = 0;
}

static void step(struct matcher *m)
{
    if (++m->steps % STEPS_PER_CHARGE == 0) sandbox_charge(m->L, STEPS_PER_CHARGE);
}

static void matcher_done(struct matcher *m)
{
    sandbox_charge(m->L, m->steps % STEPS_PER_CHARGE);
    m->steps = 0;
}

static const char *do_match(struct matcher *m, const char *s, const char *p);

/* The end of the single-character class at p. */
static const char *class_end(struct matcher *m, const char *p)
{
    char c = *p++;
    if (c == '%') {
        if (p >= m->p_end) luaL_error(m->L, "malformed pattern (ends with '%%')");
        return p + 1;
    }
    if (c == '[') {
        if (p < m->p_end && *p == '^') p++;
        do {
            if (p >= m->p_end) luaL_error(m->L, "malformed pattern (missing ']')");
            if (*p++ == '%' && p < m->p_end) p++;
        } while (p >= m->p_end || *p != ']');
        return p + 1;
    }
    return p;
}

static bool match_class(int c, int cl)
{
    bool res;
    switch (tolower(cl)) {
    case 'a': res = isalpha(c); break;
    case 'c': res = iscntrl(c); break;
    case 'd': res = isdigit(c); break;
    case 'l': res = islower(c); break;
    case 'p': res = ispunct(c); break;
    case 's': res = isspace(c); break;
    case 'u': res = isupper(c); break;
    case 'w': res = isalnum(c); break;
    case 'x': res = isxdigit(c); break;
    case 'z': res = c == 0; break;
    default: return cl == c;
    }
    return isupper(cl) ? !res : res;
}

/* p at '[', last at the closing ']'. */
static bool match_set(int c, const char *p, const char *last)
{
    bool sig = true;
    if (p[1] == '^') {
        sig = false;
        p++;
    }
    while (++p < last) {
        if (*p == '%') {
            p++;
            if (match_class(c, (unsigned char)*p)) return sig;
        } else if (p[1] == '-' && p + 2 < last) {
            p += 2;
            if ((unsigned char)p[-2] <= c && c <= (unsigned char)*p) return sig;
        } else if ((unsigned char)*p == c) {
            return sig;
        }
    }
    return !sig;
}

static bool single_match(struct matcher *m, const char *s, const char *p, const char *ep)
{
    if (s >= m->src_end) return false;
    int c = (unsigned char)*s;
    switch (*p) {
    case '.': return true;
    case '%': return match_class(c, (unsigned char)p[1]);
    case '[': return match_set(c, p, ep - 1);
    default: return (unsigned char)*p == c;
    }
}

static const char *match_balance(struct matcher *m, const char *s, const char *p)
{
    if (p + 1 >= m->p_end) luaL_error(m->L, "unbalanced pattern");
    if (s >= m->src_end || *s != *p) return NULL;
    char open = p[0], close = p[1];
    int depth = 1;
    while (++s < m->src_end) {
        step(m);
        if (*s == close) {
            if (--depth == 0) return s + 1;
        } else if (*s == open) {
            depth++;
        }
    }
    return NULL;
}

static const char *max_expand(struct matcher *m, const char *s, const char *p, const char *ep)
{
    ptrdiff_t i = 0;
    while (single_match(m, s + i, p, ep)) {
        i++;
        step(m);
    }
    for (; i >= 0; i--) {
        const char *r = do_match(m, s + i, ep + 1);
        if (r) return r;
    }
    return NULL;
}

static const char *min_expand(struct matcher *m, const char *s, const char *p, const char *ep)
{
    for (;;) {
        const char *r = do_match(m, s, ep + 1);
        if (r) return r;
        if (!single_match(m, s, p, ep)) return NULL;
        s++;
    }
}

static const char *start_capture(struct matcher *m, const char *s, const char *p, ptrdiff_t what)
{
    if (m->level >= MAX_CAPTURES) luaL_error(m->L, "too many captures");
    m->capture[m->level].init = s;
    m->capture[m->level].len = what;
    m->level++;
    const char *r = do_match(m, s, p);
    if (r == NULL) m->level--;
    return r;
}

static const char *end_capture(struct matcher *m, const char *s, const char *p)
{
    int l = m->level - 1;
    while (l >= 0 && m->capture[l].len != CAP_UNFINISHED) l--;
    if (l < 0) luaL_error(m->L, "invalid pattern capture");
    m->capture[l].len = s - m->capture[l].init;
    const char *r = do_match(m, s, p);
    if (r == NULL) m->capture[l].len = CAP_UNFINISHED;
    return r;
}

static const char *match_capture(struct matcher *m, const char *s, int digit)
{
    int l = digit - '1';
    if (l < 0 || l >= m->level || m->capture[l].len == CAP_UNFINISHED)
        luaL_error(m->L, "invalid capture index");
    size_t len = (size_t)m->capture[l].len;
    m->steps += len / BYTES_PER_UNIT;
    if ((size_t)(m->src_end - s) >= len && memcmp(m->capture[l].init, s, len) == 0) return s + len;
    return NULL;
}

static const char *do_match(struct matcher *m, const char *s, const char *p)
{
    if (++m->depth > MAX_DEPTH) luaL_error(m->L, "pattern too complex");
    for (;;) {
        step(m);
        if (p == m->p_end) break;
        if (*p == '(') {
            if (p + 1 < m->p_end && p[1] == ')') s = start_capture(m, s, p + 2, CAP_POSITION);
            else s = start_capture(m, s, p + 1, CAP_UNFINISHED);
            break;
        }
        if (*p == ')') {
            s = end_capture(m, s, p + 1);
            break;
        }
        if (*p == '%' && p + 1 < m->p_end) {
            if (p[1] == 'b') {
                s = match_balance(m, s, p + 2);
                if (s == NULL) break;
                p += 4;
                continue;
            }
            if (p[1] == 'f') {
                p += 2;
                if (p >= m->p_end || *p != '[')
                    luaL_error(m->L, "missing '[' after '%%f' in pattern");
                const char *ep = class_end(m, p);
                int prev = s == m->src_init ? 0 : (unsigned char)s[-1];
                int cur = s < m->src_end ? (unsigned char)*s : 0;
                if (match_set(prev, p, ep - 1) || !match_set(cur, p, ep - 1)) {
                    s = NULL;
                    break;
                }
                p = ep;
                continue;
            }
            if (isdigit((unsigned char)p[1])) {
                s = match_capture(m, s, (unsigned char)p[1]);
                if (s == NULL) break;
                p += 2;
                continue;
            }
        }
        if (*p == '$' && p + 1 == m->p_end) {
            if (s != m->src_end) s = NULL;
            break;
        }
        const char *ep = class_end(m, p);
        bool hit = single_match(m, s, p, ep);
        char q = ep < m->p_end ? *ep : '\0';
        if (q == '?') {
            const char *r;
            if (hit && (r = do_match(m, s + 1, ep + 1)) != NULL) {
                s = r;
                break;
            }
            p = ep + 1;
            continue;
        }
        if (q == '*') {
            s = max_expand(m, s, p, ep);
            break;
        }
        if (q == '+') {
            s = hit ? max_expand(m, s + 1, p, ep) : NULL;
            break;
        }
        if (q == '-') {
            s = min_expand(m, s, p, ep);
            break;
        }
        if (!hit) {
            s = NULL;
            break;
        }
        s++;
        p = ep;
    }
    m->depth--;
    return s;
}

static void push_capture(struct matcher *m, int i, const char *s, const char *e)
{
    lua_State *L = m->L;
    if (i >= m->level) {
        if (i != 0) luaL_error(L, "invalid capture index");
        lua_pushlstring(L, s, (size_t)(e - s));
        return;
    }
    ptrdiff_t len = m->capture[i].len;
    if (len == CAP_UNFINISHED) luaL_error(L, "unfinished capture");
    if (len == CAP_POSITION) lua_pushinteger(L, m->capture[i].init - m->src_init + 1);
    else lua_pushlstring(L, m->capture[i].init, (size_t)len);
}

static int push_captures(struct matcher *m, const char *s, const char *e)
{
    int n = m->level == 0 && s ? 1 : m->level;
    luaL_checkstack(m->L, n, "too many captures");
    for (int i = 0; i < n; i++) push_capture(m, i, s, e);
    return n;
}

static ptrdiff_t relative(ptrdiff_t pos, size_t len)
{
    if (pos < 0) pos += (ptrdiff_t)len + 1;
    return pos >= 0 ? pos : 0;
}

static bool has_specials(const char *p, const char *end)
{
    for (; p < end; p++)
        if (strchr(SPECIALS, *p)) return true;
    return false;
}

static int find_or_match(lua_State *L, bool find)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    ptrdiff_t init = relative(luaL_optinteger(L, 3, 1), ls) - 1;
    if (init < 0) init = 0;
    else if ((size_t)init > ls) init = (ptrdiff_t)ls;
    struct matcher m;
    matcher_init(&m, L, s, ls, p, lp);
    if (find && (lua_toboolean(L, 4) || !has_specials(p, m.p_end))) {
        sandbox_charge(L, 1 + (ls - (size_t)init + lp) / BYTES_PER_UNIT);
        const char *hit = memmem(s + init, ls - (size_t)init, p, lp);
        if (hit) {
            lua_pushinteger(L, hit - s + 1);
            lua_pushinteger(L, (lua_Integer)(hit - s + (ptrdiff_t)lp));
            return 2;
        }
        lua_pushnil(L);
        return 1;
    }
    bool anchor = p < m.p_end && *p == '^';
    if (anchor) p++;
    const char *s1 = s + init;
    do {
        m.level = 0;
        m.depth = 0;
        const char *e = do_match(&m, s1, p);
        if (e) {
            matcher_done(&m);
            if (!find) return push_captures(&m, s1, e);
            lua_pushinteger(L, s1 - s + 1);
            lua_pushinteger(L, e - s);
            return push_captures(&m, NULL, NULL) + 2;
        }
    } while (s1++ < m.src_end && !anchor);
    matcher_done(&m);
    lua_pushnil(L);
    return 1;
}

static int str_find(lua_State *L) { return find_or_match(L, true); }
static int str_match(lua_State *L) { return find_or_match(L, false); }

static int gmatch_next(lua_State *L)
{
    size_t ls, lp;
    const char *s = lua_tolstring(L, lua_upvalueindex(1), &ls);
    const char *p = lua_tolstring(L, lua_upvalueindex(2), &lp);
    struct matcher m;
    matcher_init(&m, L, s, ls, p, lp);
    for (const char *src = s + lua_tointeger(L, lua_upvalueindex(3)); src <= m.src_end; src++) {
        m.level = 0;
        m.depth = 0;
        const char *e = do_match(&m, src, p);
        if (e) {
            lua_Integer next = e - s;
            if (e == src) next++; /* an empty match: move on */
            lua_pushinteger(L, next);
            lua_replace(L, lua_upvalueindex(3));
            matcher_done(&m);
            return push_captures(&m, src, e);
        }
    }
    matcher_done(&m);
    return 0;
}

static int str_gmatch(lua_State *L)
{
    luaL_checkstring(L, 1);
    luaL_checkstring(L, 2);
    lua_settop(L, 2);
    lua_pushinteger(L, 0);
    lua_pushcclosure(L, gmatch_next, 3);
    return 1;
}

/* A replacement string: %0-%9 are captures, % before anything else is
 * that character (a trailing % adds the NUL after it, as in Lua 5.1). */
static void add_replacement(struct matcher *m, luaL_Buffer *b, const char *s, const char *e)
{
    size_t len;
    const char *r = lua_tolstring(m->L, 3, &len);
    for (size_t i = 0; i < len; i++) {
        step(m);
        if (r[i] != '%') {
            luaL_addchar(b, r[i]);
            continue;
        }
        i++;
        char c = i < len ? r[i] : '\0';
        if (!isdigit((unsigned char)c)) {
            luaL_addchar(b, c);
        } else if (c == '0') {
            luaL_addlstring(b, s, (size_t)(e - s));
        } else {
            push_capture(m, c - '1', s, e);
            luaL_addvalue(b);
        }
    }
}

static void add_value(struct matcher *m, luaL_Buffer *b, const char *s, const char *e)
{
    lua_State *L = m->L;
    switch (lua_type(L, 3)) {
    case LUA_TNUMBER:
    case LUA_TSTRING:
        add_replacement(m, b, s, e);
        return;
    case LUA_TFUNCTION: {
        lua_pushvalue(L, 3);
        int n = push_captures(m, s, e);
        lua_call(L, n, 1);
        break;
    }
    default: /* a table */
        push_capture(m, 0, s, e);
        lua_gettable(L, 3);
        break;
    }
    if (!lua_toboolean(L, -1)) {
        lua_pop(L, 1);
        lua_pushlstring(L, s, (size_t)(e - s));
    } else if (!lua_isstring(L, -1)) {
        luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    }
    luaL_addvalue(b);
}

static int str_gsub(lua_State *L)
{
    size_t ls, lp;
    const char *src = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    int type = lua_type(L, 3);
    int max = luaL_optint(L, 4, (int)(ls < INT32_MAX ? ls + 1 : INT32_MAX));
    luaL_argcheck(L, type == LUA_TNUMBER || type == LUA_TSTRING || type == LUA_TFUNCTION ||
                  type == LUA_TTABLE, 3, "string/function/table expected");
    struct matcher m;
    matcher_init(&m, L, src, ls, p, lp);
    bool anchor = p < m.p_end && *p == '^';
    if (anchor) p++;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    int n = 0;
    while (n < max) {
        m.level = 0;
        m.depth = 0;
        const char *e = do_match(&m, src, p);
        if (e) {
            n++;
            add_value(&m, &b, src, e);
        }
        if (e && e > src) src = e;
        else if (src < m.src_end) luaL_addchar(&b, *src++);
        else break;
        if (anchor) break;
    }
    luaL_addlstring(&b, src, (size_t)(m.src_end - src));
    matcher_done(&m);
    luaL_pushresult(&b);
    lua_pushinteger(L, n);
    return 2;
}

/* --------------------------------------------------------------------
 * Charged forms of the library's own functions
 * ------------------------------------------------------------------ */

enum charge_kind { CHARGE_REP, CHARGE_SUB, CHARGE_LENGTH, CHARGE_FORMAT };

static int charged(lua_State *L)
{
    enum charge_kind kind = (enum charge_kind)lua_tointeger(L, lua_upvalueindex(2));
    size_t len = 0;
    if (lua_type(L, 1) == LUA_TSTRING || lua_type(L, 1) == LUA_TNUMBER) lua_tolstring(L, 1, &len);
    double units = 1;
    switch (kind) {
    case CHARGE_REP: {
        double n = lua_isnumber(L, 2) ? lua_tonumber(L, 2) : 0;
        if (n > 0) units += n / 8 + n * (double)len / BYTES_PER_UNIT;
        break;
    }
    case CHARGE_SUB: {
        ptrdiff_t i = relative(luaL_optinteger(L, 2, 1), len);
        ptrdiff_t j = relative(luaL_optinteger(L, 3, -1), len);
        if (i < 1) i = 1;
        if (j > (ptrdiff_t)len) j = (ptrdiff_t)len;
        if (j >= i) units += (double)(j - i + 1) / BYTES_PER_UNIT;
        break;
    }
    case CHARGE_LENGTH:
        units += (double)len / BYTES_PER_UNIT;
        break;
    case CHARGE_FORMAT:
        for (int i = 1; i <= lua_gettop(L); i++)
            if (lua_type(L, i) == LUA_TSTRING) units += 1 + (double)lua_objlen(L, i) / BYTES_PER_UNIT;
        break;
    }
    sandbox_charge(L, units > (double)sandbox_budget() ? sandbox_budget() + 1 : (uint64_t)units);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

static void charge_field(lua_State *L, const char *name, enum charge_kind kind)
{
    lua_getfield(L, -1, name);
    lua_pushinteger(L, kind);
    lua_pushcclosure(L, charged, 2);
    lua_setfield(L, -2, name);
}

void lua_strlib_open(lua_State *L)
{
    lua_getfield(L, LUA_GLOBALSINDEX, "string");
    lua_pushcfunction(L, str_find);
    lua_setfield(L, -2, "find");
    lua_pushcfunction(L, str_match);
    lua_setfield(L, -2, "match");
    lua_pushcfunction(L, str_gmatch);
    lua_setfield(L, -2, "gmatch");
    lua_pushcfunction(L, str_gsub);
    lua_setfield(L, -2, "gsub");
    charge_field(L, "rep", CHARGE_REP);
    charge_field(L, "sub", CHARGE_SUB);
    charge_field(L, "upper", CHARGE_LENGTH);
    charge_field(L, "lower", CHARGE_LENGTH);
    charge_field(L, "reverse", CHARGE_LENGTH);
    charge_field(L, "format", CHARGE_FORMAT);
    lua_pop(L, 1);
}
