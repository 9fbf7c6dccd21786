/*
 * User lookup in the container's /etc/passwd and /etc/group.
 *
 * Runs in the spawned child, after the pivot, so "/etc" is the image's. The
 * files are parsed by hand rather than with getpwnam(): glibc's NSS would
 * dlopen modules from the image into a process that is still root.
 *
 * Accepted forms (as in Docker/runc): "", "name", "uid", "name:group",
 * "uid:gid", and mixes. A numeric uid absent from /etc/passwd runs with gid
 * 0 and no supplementary groups.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "shim.h"

#define MAX_GROUPS 64

static int parse_id(const char *s, unsigned long *out)
{
    if (!*s)
        return -1;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || errno || v > 0x7fffffffUL)
        return -1;
    *out = v;
    return 0;
}

/* Split a colon separated line in place into at most `max` fields. */
static int split_fields(char *line, char **fields, int max)
{
    int n = 0;
    line[strcspn(line, "\n")] = '\0';
    char *p = line;
    while (n < max) {
        fields[n++] = p;
        char *c = strchr(p, ':');
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

struct pw_entry {
    char name[256];
    unsigned long uid, gid;
};

/* Find a passwd entry by name (when name) or by uid; 0 when found. */
static int find_passwd(const char *name, unsigned long uid, struct pw_entry *out)
{
    FILE *f = fopen("/etc/passwd", "re");
    if (!f)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    int found = -1;
    while (found < 0 && getline(&line, &cap, f) > 0) {
        char *fld[7];
        if (split_fields(line, fld, 7) < 4)
            continue;
        unsigned long u, g;
        if (parse_id(fld[2], &u) < 0 || parse_id(fld[3], &g) < 0)
            continue;
        if (name ? strcmp(fld[0], name) == 0 : u == uid) {
            snprintf(out->name, sizeof out->name, "%s", fld[0]);
            out->uid = u;
            out->gid = g;
            found = 0;
        }
    }
    free(line);
    fclose(f);
    return found;
}

/* Resolve a group name to its gid, and collect the groups listing `member`
 * (when not NULL) as supplementary groups. */
static int scan_groups(const char *group_name, unsigned long *gid_out, const char *member,
                       gid_t *groups, int *ngroups)
{
    FILE *f = fopen("/etc/group", "re");
    if (!f)
        return group_name ? -1 : 0;
    char *line = NULL;
    size_t cap = 0;
    int found = group_name ? -1 : 0;
    while (getline(&line, &cap, f) > 0) {
        char *fld[4];
        if (split_fields(line, fld, 4) < 3)
            continue;
        unsigned long g;
        if (parse_id(fld[2], &g) < 0)
            continue;
        if (group_name && found < 0 && strcmp(fld[0], group_name) == 0) {
            *gid_out = g;
            found = 0;
        }
        if (member && fld[3] && *ngroups < MAX_GROUPS) {
            char *save = NULL;
            for (char *m = strtok_r(fld[3], ",", &save); m; m = strtok_r(NULL, ",", &save)) {
                if (strcmp(m, member) == 0) {
                    groups[(*ngroups)++] = (gid_t)g;
                    break;
                }
            }
        }
    }
    free(line);
    fclose(f);
    return found;
}

/* groups must have room for MAX_GROUPS + 1 entries. Returns 0, or -1 with
 * errno ENOENT (unknown user or group) or EINVAL. */
int shim_resolve_user(const char *spec, uid_t *uid, gid_t *gid, gid_t *groups, int *ngroups)
{
    *uid = 0;
    *gid = 0;
    *ngroups = 0;
    if (!spec || !*spec)
        return 0;

    char buf[512];
    if (strlen(spec) >= sizeof buf) {
        errno = EINVAL;
        return -1;
    }
    strcpy(buf, spec);
    char *group = strchr(buf, ':');
    if (group)
        *group++ = '\0';

    struct pw_entry pw;
    unsigned long id;
    int have_pw;
    if (parse_id(buf, &id) == 0) {
        have_pw = find_passwd(NULL, id, &pw) == 0;
        *uid = (uid_t)id;
        *gid = have_pw ? (gid_t)pw.gid : 0;
    } else {
        if (find_passwd(buf, 0, &pw) < 0) {
            errno = ENOENT;
            return -1;
        }
        have_pw = 1;
        *uid = (uid_t)pw.uid;
        *gid = (gid_t)pw.gid;
    }

    unsigned long g = *gid;
    const char *group_name = NULL;
    if (group && *group) {
        if (parse_id(group, &g) < 0)
            group_name = group;
    }
    if (scan_groups(group_name, &g, have_pw ? pw.name : NULL, groups, ngroups) < 0) {
        errno = ENOENT;
        return -1;
    }
    *gid = (gid_t)g;
    groups[(*ngroups)++] = *gid;
    return 0;
}
