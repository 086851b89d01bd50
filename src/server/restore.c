/* server/restore.c — `parley-server --restore FILE`: a new cluster that
 * starts with the keys of a backup (SAVE/BGSAVE's file, repl/bgsave.c).
 *
 * Before Raft starts, restore_prepare reads the whole file and decodes it
 * (store_snapshot_decode checks the checksum and every record): a file
 * that is not a whole, well-formed backup stops the node with the reason,
 * and nothing is proposed. It then cuts the keys into chunks of records
 * (each at most half of raft-max-entry-bytes, or one key alone when it is
 * larger; a key no log entry can carry is refused too), and adds one
 * entry per FUNCTION library (`__restorelib`, as Redis's RDB brings
 * functions back; the script cache and ACL users are not restored). The directory
 * must hold no Raft log: this node bootstraps a new cluster (a new log,
 * so a new identity) as it would without --restore.
 *
 * Once Raft runs, restore_begin proposes the chunks one after the other
 * as `__restore <records>` (cmds/backup.c) in each key's database,
 * then the libraries, each
 * once the one before applied (startup_proposal.h: retried until then,
 * through the leader wherever it is), so the keys are in the log: on
 * every member, after a restart, and in the snapshots new members
 * receive. While it runs, the file `restore-pending` in the directory says
 * so (it names the file by its size and CRC): a node restarted then (a
 * crash, a stop) refuses to start without --restore, and with the same
 * file proposes every chunk again (replacing what it finds). Once the last
 * chunk applied, the marker is renamed `restore-done`: a later start with
 * --restore of that same file ignores the flag (the restore is not done
 * twice), and with any other file it is refused like any start with
 * --restore on a directory that holds a log. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/mem.h"
#include "repl/entry.h"
#include "server/server.h"
#include "store/scripts.h"
#include "store/snapshot.h"

#define MARKER "restore-pending"
#define DONE_MARKER "restore-done"

/* Keys (`__restore <records>` in db), or a FUNCTION library
 * (`__restorelib <name> <code>`, name in `name`). */
struct restore_chunk {
    int db;
    bool library;
    struct buf name;
    struct buf records;
};

struct restore {
    char *file;
    struct restore_chunk *chunks;
    size_t n, next;
    uint64_t keys;
    uint64_t libraries;
    struct resp_arg argv[3];
    struct startup_proposal prop;
    bool started;
    char ident[64]; /* file_identity, written into the markers */
};

static void marker_path(const struct server *s, char *out, size_t len)
{
    snprintf(out, len, "%s/" MARKER, s->cfg.dir);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Whether dir holds a Raft log (libraft's metadata files). */
static bool holds_log(const char *dir)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/metadata1", dir);
    if (exists(p)) return true;
    snprintf(p, sizeof p, "%s/metadata2", dir);
    return exists(p);
}

static int read_file(const char *path, struct buf *out, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "--restore: cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    char tmp[1 << 16];
    for (;;) {
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            snprintf(err, errlen, "--restore: cannot read %s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        if (n == 0) break;
        buf_append(out, tmp, (size_t)n);
    }
    close(fd);
    return 0;
}

static void restore_free(struct restore *rs)
{
    if (rs == NULL) return;
    for (size_t i = 0; i < rs->n; i++) {
        buf_free(&rs->chunks[i].records);
        buf_free(&rs->chunks[i].name);
    }
    free(rs->chunks);
    free(rs->file);
    free(rs);
}

static struct restore_chunk *new_chunk(struct restore *rs, size_t *cap, int db)
{
    if (rs->n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        rs->chunks = xrealloc(rs->chunks, *cap * sizeof *rs->chunks);
    }
    struct restore_chunk *c = &rs->chunks[rs->n++];
    *c = (struct restore_chunk){.db = db, .name = BUF_INIT, .records = BUF_INIT};
    return c;
}

/* Cuts the decoded keyspace into chunks. -1 (err) for a key too large for
 * any entry. */
static int cut_chunks(struct server *s, struct restore *rs, struct store *st, char *err,
                      size_t errlen)
{
    size_t target = (size_t)s->cfg.raft_max_entry_bytes / 2, cap = 0;
    struct buf one = BUF_INIT;
    for (int db = 0; db < STORE_DBS; db++) {
        struct restore_chunk *cur = NULL;
        for (uint64_t i = 0; i < store_db_size(st, db); i++) {
            const struct dict_entry *e = store_key_at(st, db, i);
            buf_clear(&one);
            store_snapshot_encode_key(st, db, e, &one);
            struct resp_arg argv[2] = {{"__restore", 9}, {one.data, one.len}};
            if (entry_command_bytes(2, argv) == 0) {
                snprintf(err, errlen, "--restore: key '%.*s' (%zu bytes encoded) is larger than "
                         "a Raft log entry can carry", (int)(e->klen > 64 ? 64 : e->klen), e->key,
                         one.len);
                buf_free(&one);
                return -1;
            }
            if (cur == NULL || (cur->records.len > 0 && cur->records.len + one.len > target))
                cur = new_chunk(rs, &cap, db);
            buf_append(&cur->records, one.data, one.len);
            rs->keys++;
        }
    }
    buf_free(&one);
    /* The FUNCTION libraries, one entry each. */
    struct dict_iter it;
    dict_iter_init(&it, &st->scripts.libraries);
    struct dict_entry *e;
    while ((e = dict_iter_next(&it)) != NULL) {
        const struct script_body *b = e->v.ptr;
        struct resp_arg argv[3] = {{"__restorelib", 12}, {e->key, e->klen}, {b->text, b->len}};
        if (entry_command_bytes(3, argv) == 0) {
            snprintf(err, errlen, "--restore: FUNCTION library '%.*s' is larger than a Raft log "
                     "entry can carry", (int)(e->klen > 64 ? 64 : e->klen), e->key);
            return -1;
        }
        struct restore_chunk *c = new_chunk(rs, &cap, 0);
        c->library = true;
        buf_append(&c->name, e->key, e->klen);
        buf_append(&c->records, b->text, b->len);
        rs->libraries++;
    }
    return 0;
}

/* What names a backup in the markers: its size and its stored CRC-32. */
static void file_identity(const struct buf *data, char *out, size_t len)
{
    const unsigned char *p = (const unsigned char *)data->data + (data->len >= 4 ? data->len - 4 : 0);
    snprintf(out, len, "%zu %02x%02x%02x%02x", data->len, data->len >= 4 ? p[3] : 0,
             data->len >= 4 ? p[2] : 0, data->len >= 4 ? p[1] : 0, data->len >= 4 ? p[0] : 0);
}

/* The marker's first line, or "" when it cannot be read. */
static void read_marker(const char *path, char *out, size_t len)
{
    out[0] = '\0';
    FILE *f = fopen(path, "re");
    if (f == NULL) return;
    if (fgets(out, (int)len, f) == NULL) out[0] = '\0';
    out[strcspn(out, "\n")] = '\0';
    fclose(f);
}

static int write_marker(struct server *s, const char *marker, const char *ident, char *err,
                        size_t errlen)
{
    if (mkdir(s->cfg.dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "--restore: cannot make %s: %s", s->cfg.dir, strerror(errno));
        return -1;
    }
    int fd = open(marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    char line[80];
    int n = snprintf(line, sizeof line, "%s\n", ident);
    if (fd < 0 || write(fd, line, (size_t)n) != n || fsync(fd) != 0) {
        snprintf(err, errlen, "--restore: cannot write %s: %s", marker, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    close(fd);
    int dfd = open(s->cfg.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

int restore_prepare(struct server *s, char *err, size_t errlen)
{
    char marker[4096], done[4096];
    marker_path(s, marker, sizeof marker);
    snprintf(done, sizeof done, "%s/" DONE_MARKER, s->cfg.dir);
    const char *file = s->cfg.restore;
    if (!file[0]) {
        if (exists(marker) && holds_log(s->cfg.dir)) {
            snprintf(err, errlen, "a restore into %s was interrupted (%s is there): start again "
                     "with --restore FILE to finish it", s->cfg.dir, marker);
            return -1;
        }
        if (exists(marker)) unlink(marker); /* a restore that never started */
        return 0;
    }
    if (s->cfg.join[0] || s->cfg.force_new_cluster) {
        snprintf(err, errlen, "--restore starts a new cluster: it cannot be given with %s",
                 s->cfg.join[0] ? "--join" : "--force-new-cluster");
        return -1;
    }
    struct buf data = BUF_INIT;
    if (read_file(file, &data, err, errlen) != 0) {
        buf_free(&data);
        return -1;
    }
    char ident[64], seen[64];
    file_identity(&data, ident, sizeof ident);
    bool resume = false;
    if (holds_log(s->cfg.dir)) {
        if (exists(marker)) {
            read_marker(marker, seen, sizeof seen);
            if (strcmp(seen, ident) != 0) {
                snprintf(err, errlen, "--restore: %s holds an interrupted restore of another "
                         "file (%s, this one is %s)", s->cfg.dir, seen, ident);
                buf_free(&data);
                return -1;
            }
            resume = true;
        } else {
            read_marker(done, seen, sizeof seen);
            buf_free(&data);
            if (strcmp(seen, ident) == 0) {
                /* This directory's cluster was made from this very file:
                 * a restart that kept the flag does not restore again. */
                log_warn("%s was already restored into %s: --restore ignored (remove it from "
                         "the configuration)", file, s->cfg.dir);
                return 0;
            }
            snprintf(err, errlen, "--restore: %s already holds a cluster's Raft log; restore "
                     "into an empty directory (or start without --restore)", s->cfg.dir);
            return -1;
        }
    }
    char why[256];
    const char *aux;
    size_t aux_len;
    struct store *st = store_snapshot_decode(data.data, data.len, &aux, &aux_len, why, sizeof why);
    buf_free(&data);
    if (st == NULL) {
        snprintf(err, errlen, "--restore: %s is not a usable backup: %s", file, why);
        return -1;
    }
    struct restore *rs = xcalloc(1, sizeof *rs);
    rs->file = xstrdup(file);
    int rv = cut_chunks(s, rs, st, err, errlen);
    store_free(st);
    if (rv != 0) {
        restore_free(rs);
        return -1;
    }
    snprintf(rs->ident, sizeof rs->ident, "%s", ident);
    /* The marker goes down before the log is bootstrapped, so that no
     * crash leaves a restored log without it. */
    if (write_marker(s, marker, rs->ident, err, errlen) != 0) {
        restore_free(rs);
        return -1;
    }
    s->restore = rs;
    log_info("%s the restore of %s: %llu keys and %llu FUNCTION libraries in %zu log entries",
             resume ? "Resuming" : "Starting", file, (unsigned long long)rs->keys,
             (unsigned long long)rs->libraries, rs->n);
    return 0;
}

static void finish(struct server *s)
{
    struct restore *rs = s->restore;
    char marker[4096], done[4096];
    marker_path(s, marker, sizeof marker);
    snprintf(done, sizeof done, "%s/" DONE_MARKER, s->cfg.dir);
    if (rename(marker, done) != 0) log_warn("Cannot rename %s: %s", marker, strerror(errno));
    log_info("Restore of %s done: %llu keys, %llu FUNCTION libraries", rs->file,
             (unsigned long long)rs->keys, (unsigned long long)rs->libraries);
}

/* The command that carries chunk c, in rs->argv; returns argc. */
static int chunk_argv(struct restore *rs, const struct restore_chunk *c)
{
    if (c->library) {
        rs->argv[0] = (struct resp_arg){"__restorelib", 12};
        rs->argv[1] = (struct resp_arg){c->name.data, c->name.len};
        rs->argv[2] = (struct resp_arg){c->records.data, c->records.len};
        return 3;
    }
    rs->argv[0] = (struct resp_arg){"__restore", 9};
    rs->argv[1] = (struct resp_arg){c->records.data, c->records.len};
    return 2;
}

static void propose_next(struct startup_proposal *p)
{
    struct server *s = p->srv;
    struct restore *rs = s->restore;
    if (rs->next == rs->n) {
        finish(s);
        return;
    }
    struct restore_chunk *c = &rs->chunks[rs->next++];
    startup_proposal_next(p, c->db, chunk_argv(rs, c), rs->argv);
}

void restore_begin(struct server *s)
{
    struct restore *rs = s->restore;
    if (rs == NULL) return;
    rs->started = true;
    if (rs->n == 0) {
        finish(s);
        return;
    }
    struct restore_chunk *c = &rs->chunks[rs->next++];
    rs->prop.db = c->db;
    rs->prop.quiet = true; /* one line per chunk otherwise */
    int argc = chunk_argv(rs, c);
    startup_proposal_start(&rs->prop, s, "keys of the backup", argc, rs->argv, propose_next);
}

void restore_close_handles(struct server *s)
{
    if (s->restore && s->restore->started && s->restore->n > 0)
        startup_proposal_close(&s->restore->prop);
}

void restore_free_server(struct server *s)
{
    if (s->restore == NULL) return;
    if (s->restore->started && s->restore->n > 0) startup_proposal_free(&s->restore->prop);
    restore_free(s->restore);
    s->restore = NULL;
}
