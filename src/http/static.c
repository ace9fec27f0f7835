/*
 * The web front end, read into memory at start-up (see static.h).
 */
#include "http/static.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/grow.h"
#include "base/log.h"

#define FILE_MAX (16u << 20) /* a built bundle is far smaller; refuse surprises */

struct file {
    char *url; /* "/console/index.html" */
    const char *ctype;
    char *data, *gz;
    size_t len, gzlen;
    bool immutable; /* hashed build output: cache for a year */
};

static struct file *files;
static size_t nfiles, capfiles;

static const struct {
    const char *ext, *ctype;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".ico", "image/x-icon"},
    {".json", "application/json; charset=utf-8"},
    {".webmanifest", "application/manifest+json"},
    {".woff2", "font/woff2"},
    {".woff", "font/woff"},
    {".ttf", "font/ttf"},
    {".txt", "text/plain; charset=utf-8"},
};

static const char *type_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot)
        return NULL;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(dot, types[i].ext))
            return types[i].ctype;
    return NULL; /* source maps, stamps and the like are not served */
}

static err read_all(const char *path, char **data_r, size_t *len_r)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(E_IO, NULL, NULL, "无法读取前端文件");
    struct stat st;
    if (fstat(fd, &st) || st.st_size < 0 || (size_t)st.st_size > FILE_MAX) {
        close(fd);
        return err_set(E_IO, NULL, NULL, "前端文件过大或无法读取");
    }
    size_t n = (size_t)st.st_size;
    char *p = malloc(n ? n : 1);
    size_t got = 0;
    while (p && got < n) {
        ssize_t k = read(fd, p + got, n - got);
        if (k <= 0) {
            if (k < 0 && errno == EINTR)
                continue;
            free(p);
            p = NULL;
        } else {
            got += (size_t)k;
        }
    }
    close(fd);
    if (!p)
        return err_set(E_IO, NULL, NULL, "无法读取前端文件");
    *data_r = p;
    *len_r = n;
    return E_OK;
}

static err add(const char *path, const char *url, const char *ctype)
{
    if (!GROW(&files, &capfiles, nfiles, 1, 64))
        return err_set(E_NOMEM, NULL, NULL, NULL);
    struct file f = {.ctype = ctype, .immutable = strstr(url, "/assets/") != NULL};
    err e = read_all(path, &f.data, &f.len);
    if (e)
        return e;
    char gzpath[4200];
    snprintf(gzpath, sizeof gzpath, "%s.gz", path);
    if (access(gzpath, R_OK) == 0 && (e = read_all(gzpath, &f.gz, &f.gzlen))) {
        free(f.data);
        return e;
    }
    f.url = strdup(url);
    if (!f.url) {
        free(f.data);
        free(f.gz);
        return err_set(E_NOMEM, NULL, NULL, NULL);
    }
    files[nfiles++] = f;
    return E_OK;
}

static err walk(const char *dir, const char *url)
{
    DIR *d = opendir(dir);
    if (!d)
        return err_set(E_IO, NULL, NULL, "无法读取前端目录");
    err e = E_OK;
    struct dirent *de;
    while (!e && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue; /* ., .., and hidden files such as the build stamp */
        char path[4096], sub[1024];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= sizeof path ||
            (size_t)snprintf(sub, sizeof sub, "%s/%s", url, de->d_name) >= sizeof sub)
            continue;
        struct stat st;
        if (stat(path, &st))
            continue;
        if (S_ISDIR(st.st_mode)) {
            e = walk(path, sub);
        } else if (S_ISREG(st.st_mode)) {
            const char *ctype = type_of(de->d_name);
            if (ctype)
                e = add(path, sub, ctype);
        }
    }
    closedir(d);
    return e;
}

static int by_url(const void *a, const void *b)
{
    return strcmp(((const struct file *)a)->url, ((const struct file *)b)->url);
}

err static_load(const char *dir)
{
    static_free();
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
        log_event(LOG_WARN, "web_missing", "dir", dir, NULL);
        return E_OK;
    }
    err e = walk(dir, "");
    if (e) {
        static_free();
        return e;
    }
    qsort(files, nfiles, sizeof *files, by_url);
    return E_OK;
}

int static_count(void)
{
    return (int)nfiles;
}

void static_free(void)
{
    for (size_t i = 0; i < nfiles; i++) {
        free(files[i].url);
        free(files[i].data);
        free(files[i].gz);
    }
    free(files);
    files = NULL;
    nfiles = capfiles = 0;
}

static const struct file *find(const char *url)
{
    struct file key = {.url = (char *)url};
    return bsearch(&key, files, nfiles, sizeof *files, by_url);
}

static bool redirect(struct req *r, const char *to)
{
    r->status = 302;
    r->location = to;
    r->ctype = "text/plain; charset=utf-8";
    r->data = "";
    r->len = 0;
    return true;
}

bool static_serve(struct req *r, bool gzip_ok)
{
    const char *p = r->path;
    if (!strcmp(p, "/") || !strcmp(p, "/console"))
        return nfiles ? redirect(r, "/console/") : false;
    if (!strcmp(p, "/mobile"))
        return nfiles ? redirect(r, "/mobile/") : false;
    size_t n = strlen(p);
    const char *url = p;
    if (n && p[n - 1] == '/')
        url = arena_printf(r->a, "%sindex.html", p);
    const struct file *f = find(url);
    if (!f)
        return false;
    r->status = 200;
    r->ctype = f->ctype;
    r->cache_control = f->immutable ? "public, max-age=31536000, immutable" : "no-cache";
    r->vary = f->gz ? "Accept-Encoding" : NULL;
    if (f->gz && gzip_ok) {
        r->data = f->gz;
        r->len = f->gzlen;
        r->content_encoding = "gzip";
    } else {
        r->data = f->data;
        r->len = f->len;
    }
    return true;
}
