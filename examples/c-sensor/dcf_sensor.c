/*
 * A small C sensor on libdcf: it watches a directory for content updates and evaluates
 * JSON Lines events read from standard input, printing every match.
 *
 *   dcf_sensor MANIFEST PUBLIC_KEY UPDATES_DIR CHANNEL [STORE_DIR] < events.jsonl
 *
 * MANIFEST is what this sensor build supplies (format-spec/MANIFEST.md), PUBLIC_KEY the
 * release key file `dcf keygen` wrote, UPDATES_DIR where signed `.dcf` updates are dropped.
 * Before every event the directory is looked at again, and each file that is new or has
 * changed since it was last looked at is offered to the loader: a good update replaces the
 * active content, a bad one is refused with its code and the last known good stays active.
 *
 * With STORE_DIR the sensor keeps its content in the crash-safe content store there: a
 * restart runs the last known good content again and keeps the sequence high-water mark, so
 * an older update stays refused; a content is confirmed healthy after the first event it
 * evaluated. Without it, the sensor starts empty from sequence 0 every time.
 */
#include "dcf.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static int read_file(const char *path, uint8_t **bytes, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return -1;
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (n == cap) buf = realloc(buf, cap *= 2);
        size_t got = fread(buf + n, 1, cap - n, f);
        if (got == 0) break;
        n += got;
    }
    fclose(f);
    *bytes = buf;
    *len = n;
    return 0;
}

/* What was last offered to the loader, so an unchanged file is not offered again. */
typedef struct seen {
    char name[256];
    time_t mtime;
    off_t size;
} seen;

static seen offered[256];
static size_t offered_count = 0;

static int already_offered(const char *name, const struct stat *st) {
    for (size_t i = 0; i < offered_count; i++) {
        if (strcmp(offered[i].name, name) == 0) {
            int same = offered[i].mtime == st->st_mtime && offered[i].size == st->st_size;
            offered[i].mtime = st->st_mtime;
            offered[i].size = st->st_size;
            return same;
        }
    }
    if (offered_count < sizeof offered / sizeof offered[0]) {
        snprintf(offered[offered_count].name, sizeof offered[0].name, "%s", name);
        offered[offered_count].mtime = st->st_mtime;
        offered[offered_count].size = st->st_size;
        offered_count++;
    }
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b) {
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_update(const struct dirent *entry) {
    size_t n = strlen(entry->d_name);
    return n > 4 && strcmp(entry->d_name + n - 4, ".dcf") == 0;
}

/* Offers every new or changed update of `dir` to the loader, in name order. */
static void poll_updates(const dcf_sensor *sensor, const char *dir) {
    struct dirent **entries = NULL;
    int count = scandir(dir, &entries, is_update, by_name);
    for (int i = 0; i < count; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, entries[i]->d_name);
        if (stat(path, &st) == 0 && !already_offered(entries[i]->d_name, &st)) {
            uint8_t *bytes = NULL;
            size_t len = 0;
            if (read_file(path, &bytes, &len) == 0) {
                dcf_status status;
                if (dcf_sensor_load(sensor, bytes, len, (uint64_t)time(NULL), &status) ==
                    DCF_OK) {
                    dcf_content_info info;
                    dcf_sensor_content(sensor, &info, NULL);
                    printf("loaded %s: sequence %llu, %u rules\n", entries[i]->d_name,
                           (unsigned long long)info.sequence, info.rule_count);
                } else {
                    printf("refused %s: %s\n", entries[i]->d_name, status.message);
                }
                free(bytes);
            }
        }
        free(entries[i]);
    }
    free(entries);
}

static const char *const SLOT[] = {"nothing", "the active content", "the previous content"};

static const char *const SEVERITY[] = {"informational", "low", "medium", "high", "critical"};
static const char *const ACTION[] = {"log", "detect", "block"};

static void print_match(void *user, const dcf_match *m) {
    unsigned long line = *(const unsigned long *)user;
    printf("line %lu: %s %s %.*s (%s, by %.*s)\n", line,
           m->action < 3 ? ACTION[m->action] : "?", m->rule_id_text, (int)m->title_len,
           (const char *)m->title, m->severity < 5 ? SEVERITY[m->severity] : "?",
           (int)m->author_len, (const char *)m->author);
}

int main(int argc, char **argv) {
    if (argc != 5 && argc != 6) {
        fprintf(stderr,
                "usage: %s MANIFEST PUBLIC_KEY UPDATES_DIR CHANNEL [STORE_DIR] < events.jsonl\n",
                argv[0]);
        return 2;
    }
    uint8_t *manifest = NULL, *key_text = NULL;
    size_t manifest_len = 0, key_text_len = 0;
    if (read_file(argv[1], &manifest, &manifest_len) != 0 ||
        read_file(argv[2], &key_text, &key_text_len) != 0) {
        perror("reading the manifest or the key");
        return 2;
    }
    dcf_status status;
    uint8_t key[DCF_PUBLIC_KEY_LEN];
    if (dcf_public_key_from_text(key_text, key_text_len, key, &status) != DCF_OK) {
        fprintf(stderr, "%s: %s\n", argv[2], status.message);
        return 2;
    }
    dcf_sensor_config config = {0};
    config.manifest = manifest;
    config.manifest_len = manifest_len;
    config.trusted_keys = key;
    config.trusted_key_count = 1;
    config.channel = (uint32_t)strtoul(argv[4], NULL, 10);
    dcf_sensor *sensor = NULL;
    dcf_scratch *scratch = NULL;
    dcf_result made;
    if (argc == 6) {
        dcf_start_report report;
        made = dcf_sensor_open_store(&config, NULL, (const uint8_t *)argv[5], strlen(argv[5]),
                                     (uint64_t)time(NULL), &sensor, &report, &status);
        if (made == DCF_OK) {
            for (size_t i = 0; i < report.step_count; i++)
                if (report.steps[i].code[0] != '\0')
                    printf("store: sequence %llu refused at start: %s\n",
                           (unsigned long long)report.steps[i].sequence, report.steps[i].code);
            printf("store: restored %s (sequence %llu)%s%s\n", SLOT[report.restored_slot % 3],
                   (unsigned long long)report.restored_sequence,
                   report.expired ? ", expired" : "", report.on_probation ? ", on probation" : "");
            if (report.quarantined)
                printf("store: quarantined sequence %llu\n",
                       (unsigned long long)report.quarantined_sequence);
        }
    } else {
        made = dcf_sensor_new(&config, &sensor, &status);
    }
    if (made != DCF_OK || dcf_scratch_new(&scratch, &status) != DCF_OK) {
        fprintf(stderr, "%s: %s %s\n", argv[1], status.code, status.message);
        return 2;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long number = 0, matched = 0, refused = 0;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        number++;
        if (n == 0 || line[0] == '#' || line[0] == '\n') continue;
        poll_updates(sensor, argv[3]);
        dcf_evaluation result;
        dcf_result r = dcf_sensor_evaluate_json(sensor, scratch, (const uint8_t *)line,
                                                (size_t)n, print_match, &number, &result,
                                                &status);
        if (r == DCF_OK) {
            matched += result.match_count;
            /* One event evaluated without a crash: good enough for an example. */
            if (argc == 6) dcf_sensor_confirm_healthy(sensor, NULL);
        } else {
            refused++;
            printf("line %lu: not evaluated: %s\n", number, status.message);
        }
    }
    printf("%lu lines, %lu matches, %lu events not evaluated\n", number, matched, refused);
    free(line);
    dcf_scratch_free(scratch);
    dcf_sensor_free(sensor);
    free(manifest);
    free(key_text);
    return 0;
}
