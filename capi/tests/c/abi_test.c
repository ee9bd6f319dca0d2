/*
 * The C ABI test suite: what a C sensor does with libdcf, checked from C.
 * Usage: abi_test FIXTURE_DIR (capi/tests/c_abi.rs makes the fixtures and runs this).
 *
 * - every corpus file through dcf_check, with the code and offset the spec gives it;
 * - one refused update per loader code, the last known good content still active after it;
 * - Channel File 291: a content declaring 21 fields refused by a sensor supplying 20, the
 *   last known good content still evaluating, an event with too few fields refused;
 * - evaluation of typed field arrays and of JSON events, and every evaluation refusal;
 * - misuse: null handles and pointers, zero lengths, bad manifests, keys and flags;
 * - four threads evaluating while the main thread loads: no evaluation sees a mix.
 */
#include "dcf.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
static const char *fixtures = NULL;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            failures++;                                                        \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__,   \
                    #cond);                                                    \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
        }                                                                      \
    } while (0)

/* The content time every good update is loaded at (inside the corpus validity). */
static const uint64_t NOW = 1780000000u;

typedef struct buffer {
    uint8_t *bytes;
    size_t len;
} buffer;

static buffer read_file(const char *path) {
    buffer b = {NULL, 0};
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    size_t cap = 4096;
    b.bytes = malloc(cap);
    for (;;) {
        if (b.len == cap) {
            cap *= 2;
            b.bytes = realloc(b.bytes, cap);
        }
        size_t n = fread(b.bytes + b.len, 1, cap - b.len, f);
        if (n == 0) break;
        b.len += n;
    }
    fclose(f);
    return b;
}

static buffer fixture(const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", fixtures, name);
    return read_file(path);
}

static dcf_sensor *new_sensor(const char *manifest, uint32_t channel, size_t max_size,
                              uint64_t current_sequence) {
    buffer text = fixture(manifest);
    buffer key = fixture("trusted.key");
    dcf_sensor_config config;
    memset(&config, 0, sizeof config);
    config.manifest = text.bytes;
    config.manifest_len = text.len;
    config.trusted_keys = key.bytes;
    config.trusted_key_count = key.len / 32;
    config.channel = channel;
    config.current_sequence = current_sequence;
    config.max_size = max_size;
    dcf_sensor *sensor = NULL;
    dcf_status status;
    dcf_result r = dcf_sensor_new(&config, &sensor, &status);
    CHECK(r == DCF_OK, "dcf_sensor_new(%s): %d %s %s", manifest, r, status.code, status.message);
    free(text.bytes);
    free(key.bytes);
    return sensor;
}

static dcf_result load(const dcf_sensor *sensor, const char *name, uint64_t now,
                       dcf_status *status) {
    buffer content = fixture(name);
    dcf_result r = dcf_sensor_load(sensor, content.bytes, content.len, now, status);
    free(content.bytes);
    return r;
}

/* The active content's sequence, or 0 when there is none. */
static uint64_t active_sequence(const dcf_sensor *sensor) {
    dcf_content_info info;
    dcf_status status;
    if (dcf_sensor_content(sensor, &info, &status) != DCF_OK) {
        CHECK(strcmp(status.code, "E3501") == 0, "no content is E3501, not %s", status.code);
        return 0;
    }
    return info.sequence;
}

static void test_version(void) {
    const char *version = dcf_version();
    CHECK(version != NULL && version[0] != '\0', "a version string");
}

/* A key file as `dcf keygen` writes it reads as the key's 32 bytes. */
static void test_key_file(void) {
    buffer text = fixture("trusted.pub");
    buffer raw = fixture("trusted.key");
    uint8_t key[DCF_PUBLIC_KEY_LEN];
    dcf_status status;
    CHECK(dcf_public_key_from_text(text.bytes, text.len, key, &status) == DCF_OK, "%s",
          status.message);
    CHECK(raw.len == DCF_PUBLIC_KEY_LEN && memcmp(key, raw.bytes, raw.len) == 0, "same key");
    CHECK(dcf_public_key_from_text(raw.bytes, raw.len, key, &status) == DCF_INVALID_ARGUMENT,
          "raw bytes are not a key file");
    CHECK(dcf_public_key_from_text(text.bytes, text.len, NULL, &status) == DCF_NULL_ARGUMENT,
          "null out");
    free(text.bytes);
    free(raw.bytes);
}

/* check-cases.txt: `CODE OFFSET PATH`, or `OK 0 PATH` for a valid file. */
static void test_check_corpus(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s/check-cases.txt", fixtures);
    FILE *cases = fopen(path, "r");
    CHECK(cases != NULL, "%s", path);
    if (cases == NULL) return;
    char code[16], file[4096];
    unsigned long long offset;
    int checked = 0;
    while (fscanf(cases, "%15s %llu %4095s", code, &offset, file) == 3) {
        buffer content = read_file(file);
        dcf_status status;
        dcf_result r = dcf_check(content.bytes, content.len, &status);
        if (strcmp(code, "OK") == 0) {
            CHECK(r == DCF_OK, "%s is valid: %s", file, status.message);
            CHECK(status.code[0] == '\0' && status.offset == DCF_NO_OFFSET,
                  "DCF_OK leaves the status clear");
        } else {
            CHECK(r == DCF_REFUSED, "%s is refused", file);
            CHECK(strcmp(status.code, code) == 0, "%s: code %s, expected %s", file,
                  status.code, code);
            CHECK(status.offset == offset, "%s: offset %llu, expected %llu", file,
                  (unsigned long long)status.offset, offset);
            CHECK(strstr(status.message, code) != NULL, "the message names the code: %s",
                  status.message);
        }
        free(content.bytes);
        checked++;
    }
    fclose(cases);
    printf("dcf_check: %d corpus files\n", checked);
}

/* load-cases.txt: `CODE NOW CHANNEL MAX_SIZE MANIFEST GOOD BAD`; GOOD is `-` for none. */
static void test_load_refusals(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s/load-cases.txt", fixtures);
    FILE *cases = fopen(path, "r");
    CHECK(cases != NULL, "%s", path);
    if (cases == NULL) return;
    char code[16], manifest[256], good[256], bad[256];
    unsigned long long now, max_size;
    unsigned channel;
    while (fscanf(cases, "%15s %llu %u %llu %255s %255s %255s", code, &now, &channel,
                  &max_size, manifest, good, bad) == 7) {
        dcf_sensor *sensor = new_sensor(manifest, channel, (size_t)max_size, 0);
        if (sensor == NULL) continue;
        dcf_status status;
        uint64_t before = 0;
        if (strcmp(good, "-") != 0) {
            dcf_result r = load(sensor, good, NOW, &status);
            CHECK(r == DCF_OK, "%s loads: %s", good, status.message);
            before = active_sequence(sensor);
            CHECK(before != 0, "%s is active", good);
        }
        dcf_result r = load(sensor, bad, now, &status);
        CHECK(r == DCF_REFUSED, "%s is refused (%d)", bad, r);
        CHECK(strcmp(status.code, code) == 0, "%s: %s, expected %s (%s)", bad, status.code,
              code, status.message);
        CHECK(status.message[0] != '\0', "a message");
        CHECK((code[1] == '0') == (status.offset != DCF_NO_OFFSET),
              "%s: format codes carry an offset, loader codes none", code);
        CHECK(active_sequence(sensor) == before, "%s: the last known good content stays",
              code);
        if (strcmp(status.code, code) == 0) printf("refused %s: %s\n", code, status.message);
        dcf_sensor_free(sensor);
    }
    fclose(cases);
}

typedef struct collected {
    int count;
    char titles[8][64];
    char ids[8][37];
    uint8_t severity[8];
    uint8_t action[8];
} collected;

static void collect(void *user, const dcf_match *m) {
    collected *c = user;
    if (c->count < 8) {
        snprintf(c->titles[c->count], sizeof c->titles[0], "%.*s", (int)m->title_len,
                 (const char *)m->title);
        memcpy(c->ids[c->count], m->rule_id_text, 37);
        c->severity[c->count] = m->severity;
        c->action[c->count] = m->action;
    }
    c->count++;
}

static dcf_value str(const char *s) {
    dcf_value v;
    memset(&v, 0, sizeof v);
    v.kind = DCF_VALUE_STRING;
    v.string = (const uint8_t *)s;
    v.len = strlen(s);
    return v;
}

static dcf_value integer(int64_t i) {
    dcf_value v;
    memset(&v, 0, sizeof v);
    v.kind = DCF_VALUE_INTEGER;
    v.integer = i;
    return v;
}

static dcf_value absent(void) {
    dcf_value v;
    memset(&v, 0, sizeof v);
    v.kind = DCF_VALUE_ABSENT;
    return v;
}

static dcf_value ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    dcf_value v;
    memset(&v, 0, sizeof v);
    v.kind = DCF_VALUE_IPV4;
    v.ip[0] = a;
    v.ip[1] = b;
    v.ip[2] = c;
    v.ip[3] = d;
    return v;
}

static dcf_result evaluate(const dcf_sensor *sensor, dcf_scratch *scratch, uint32_t template_id,
                           const dcf_value *fields, size_t count, collected *c,
                           dcf_evaluation *result, dcf_status *status) {
    dcf_event event = {template_id, fields, count};
    memset(c, 0, sizeof *c);
    return dcf_sensor_evaluate(sensor, scratch, &event, collect, c, result, status);
}

static void test_channel_file_291(void) {
    dcf_sensor *sensor = new_sensor("ipc-20.toml", 291, 0, 0);
    dcf_scratch *scratch = NULL;
    dcf_status status;
    CHECK(dcf_scratch_new(&scratch, &status) == DCF_OK, "scratch");
    CHECK(load(sensor, "ipc-reads-0.dcf", NOW, &status) == DCF_OK, "LKG: %s", status.message);
    dcf_result r = load(sensor, "ipc-reads-20.dcf", NOW, &status);
    CHECK(r == DCF_REFUSED && strcmp(status.code, "E3102") == 0, "21 fields on 20: %s",
          status.message);
    CHECK(strstr(status.message, "field 20") != NULL, "names the field: %s", status.message);
    CHECK(strstr(status.message, "suspicious pipe") != NULL, "names the rule: %s",
          status.message);

    dcf_value fields[21];
    for (int i = 0; i < 21; i++) fields[i] = str("x");
    fields[0] = str("\\\\.\\pipe\\msagent_7");
    collected c;
    dcf_evaluation result;
    r = evaluate(sensor, scratch, 291, fields, 20, &c, &result, &status);
    CHECK(r == DCF_OK && c.count == 1 && result.sequence == 1 && result.match_count == 1,
          "the last known good content still evaluates: %d %d %s", r, c.count, status.message);
    CHECK(strcmp(c.titles[0], "suspicious pipe") == 0, "title %s", c.titles[0]);
    r = evaluate(sensor, scratch, 291, fields, 19, &c, &result, &status);
    CHECK(r == DCF_REFUSED && strcmp(status.code, "E3503") == 0 && c.count == 0,
          "19 of 20 fields: %s", status.message);
    dcf_sensor_free(sensor);

    /* The same content binds where 21 fields are supplied; an event of 20 is refused. */
    sensor = new_sensor("ipc-21.toml", 291, 0, 0);
    CHECK(load(sensor, "ipc-reads-20.dcf", NOW, &status) == DCF_OK, "%s", status.message);
    r = evaluate(sensor, scratch, 291, fields, 20, &c, &result, &status);
    CHECK(r == DCF_REFUSED && strcmp(status.code, "E3503") == 0,
          "an event one field short is refused, never read past: %s", status.message);
    fields[20] = str("msagent");
    r = evaluate(sensor, scratch, 291, fields, 21, &c, &result, &status);
    CHECK(r == DCF_OK && c.count == 1, "21 fields: %d %s", c.count, status.message);
    dcf_sensor_free(sensor);
    dcf_scratch_free(scratch);
    printf("channel file 291: refused with E3102, last known good kept\n");
}

static void test_evaluate(void) {
    dcf_sensor *sensor = new_sensor("base.toml", 1, 0, 0);
    dcf_scratch *scratch = NULL;
    dcf_status status;
    CHECK(dcf_scratch_new(&scratch, &status) == DCF_OK, "scratch");
    dcf_value process[5] = {str("C:\\x\\powershell.exe"), str("ps -enc abc"), integer(7),
                            absent(), str("alice")};
    collected c;
    dcf_evaluation result;
    dcf_result r = evaluate(sensor, scratch, 1, process, 5, &c, &result, &status);
    CHECK(r == DCF_REFUSED && strcmp(status.code, "E3501") == 0, "no content: %s",
          status.code);

    CHECK(load(sensor, "base-5.dcf", NOW, &status) == DCF_OK, "%s", status.message);
    uint64_t sequence = 0;
    CHECK(dcf_sensor_sequence(sensor, &sequence, &status) == DCF_OK && sequence == 5,
          "sequence %llu", (unsigned long long)sequence);
    dcf_content_info info;
    CHECK(dcf_sensor_content(sensor, &info, &status) == DCF_OK, "content");
    CHECK(info.sequence == 5 && info.channel == 1 && info.rule_count == 3 && info.is_signed,
          "content info");
    int digest_bytes = 0;
    for (int i = 0; i < 32; i++) digest_bytes |= info.digest[i];
    CHECK(digest_bytes != 0, "a digest");

    r = evaluate(sensor, scratch, 1, process, 5, &c, &result, &status);
    CHECK(r == DCF_OK && c.count == 2 && result.match_count == 2 && result.sequence == 5,
          "rules 1 and 3 match: %d %d %s", r, c.count, status.message);
    CHECK(strcmp(c.titles[0], "rule 1") == 0 && strcmp(c.titles[1], "rule 3") == 0,
          "in rule order: %s, %s", c.titles[0], c.titles[1]);
    CHECK(strcmp(c.ids[0], "d0000000-0000-0000-0000-000000000001") == 0, "id %s", c.ids[0]);
    CHECK(c.severity[0] == DCF_SEVERITY_MEDIUM && c.action[0] == DCF_ACTION_DETECT,
          "severity and action");

    /* Rule 2: the destination is not in 10.0.0.0/8. */
    dcf_value network[5] = {ipv4(10, 0, 0, 1), ipv4(192, 168, 1, 1), integer(443), str("tcp"),
                            absent()};
    r = evaluate(sensor, scratch, 2, network, 5, &c, &result, &status);
    CHECK(r == DCF_OK && c.count == 1, "outside 10/8 matches: %d", c.count);
    network[1] = ipv4(10, 1, 2, 3);
    r = evaluate(sensor, scratch, 2, network, 5, &c, &result, &status);
    CHECK(r == DCF_OK && c.count == 0, "inside 10/8 does not: %d", c.count);
    network[1].kind = DCF_VALUE_IPV6;
    memset(network[1].ip, 0, 16);
    network[1].ip[15] = 1;
    r = evaluate(sensor, scratch, 2, network, 5, &c, &result, &status);
    CHECK(r == DCF_OK && c.count == 1, "::1 is outside 10/8: %d", c.count);

    /* Evaluation refusals. */
    r = evaluate(sensor, scratch, 77, process, 5, &c, &result, &status);
    CHECK(r == DCF_REFUSED && strcmp(status.code, "E3502") == 0, "template 77: %s",
          status.code);
    r = evaluate(sensor, scratch, 1, process, 4, &c, &result, &status);
    CHECK(r == DCF_REFUSED && strcmp(status.code, "E3503") == 0, "4 of 5 fields: %s",
          status.code);
    char long_user[80];
    memset(long_user, 'u', sizeof long_user - 1);
    long_user[sizeof long_user - 1] = '\0';
    dcf_value too_long[5] = {process[0], process[1], process[2], process[3], str(long_user)};
    r = evaluate(sensor, scratch, 1, too_long, 5, &c, &result, &status);
    CHECK(r == DCF_REFUSED && strcmp(status.code, "E3504") == 0, "79 bytes over 64: %s",
          status.code);
    dcf_value bad_utf8[5] = {process[0], str("\xff\xfe"), process[2], process[3], process[4]};
    r = evaluate(sensor, scratch, 1, bad_utf8, 5, &c, &result, &status);
    CHECK(r == DCF_INVALID_ARGUMENT && strstr(status.message, "UTF-8") != NULL,
          "not UTF-8: %d %s", r, status.message);
    dcf_value bad_kind[5] = {process[0], process[1], process[2], process[3], process[4]};
    bad_kind[2].kind = 9;
    r = evaluate(sensor, scratch, 1, bad_kind, 5, &c, &result, &status);
    CHECK(r == DCF_INVALID_ARGUMENT, "kind 9: %d", r);
    dcf_value null_string[5] = {process[0], process[1], process[2], process[3], process[4]};
    null_string[1].string = NULL;
    r = evaluate(sensor, scratch, 1, null_string, 5, &c, &result, &status);
    CHECK(r == DCF_NULL_ARGUMENT, "a null string of 11 bytes: %d", r);
    null_string[1].len = 0;
    r = evaluate(sensor, scratch, 1, null_string, 5, &c, &result, &status);
    CHECK(r == DCF_OK && c.count == 1, "a null string of 0 bytes is empty: %d %d", r, c.count);

    /* No callback, no result: the evaluation still runs. */
    dcf_event event = {1, process, 5};
    CHECK(dcf_sensor_evaluate(sensor, scratch, &event, NULL, NULL, NULL, NULL) == DCF_OK,
          "nothing but the event");

    /* JSON events, as `dcf test` reads them. */
    const char *json = "{\"template\": \"process\", \"fields\": {\"image\": "
                       "\"C:\\\\x\\\\powershell.exe\", \"command_line\": \"-enc x\", "
                       "\"pid\": 7, \"not_supplied\": 1}}";
    memset(&c, 0, sizeof c);
    r = dcf_sensor_evaluate_json(sensor, scratch, (const uint8_t *)json, strlen(json), collect,
                                 &c, &result, &status);
    CHECK(r == DCF_OK && c.count == 2, "json: %d %d %s", r, c.count, status.message);
    const char *unknown = "{\"template\": \"registry\", \"fields\": {}}";
    r = dcf_sensor_evaluate_json(sensor, scratch, (const uint8_t *)unknown, strlen(unknown),
                                 collect, &c, &result, &status);
    CHECK(r == DCF_REFUSED && strcmp(status.code, "E3502") == 0, "json template: %s",
          status.code);
    const char *broken = "{\"template\": ";
    r = dcf_sensor_evaluate_json(sensor, scratch, (const uint8_t *)broken, strlen(broken),
                                 collect, &c, &result, &status);
    CHECK(r == DCF_INVALID_ARGUMENT, "broken json: %d", r);
    const char *wrong_type = "{\"template\": \"process\", \"fields\": {\"pid\": \"seven\"}}";
    r = dcf_sensor_evaluate_json(sensor, scratch, (const uint8_t *)wrong_type,
                                 strlen(wrong_type), collect, &c, &result, &status);
    CHECK(r == DCF_INVALID_ARGUMENT, "a string for an integer: %d", r);

    /* A newer content replaces it; the sequence is what a restart must persist. */
    CHECK(load(sensor, "base-6.dcf", NOW, &status) == DCF_OK, "%s", status.message);
    CHECK(dcf_sensor_sequence(sensor, &sequence, &status) == DCF_OK && sequence == 6, "6");
    dcf_sensor_free(sensor);

    /* A sensor restarted with the persisted sequence 6 refuses 5 and 6 alike. */
    sensor = new_sensor("base.toml", 1, 0, 6);
    CHECK(dcf_sensor_sequence(sensor, &sequence, &status) == DCF_OK && sequence == 6, "6");
    CHECK(load(sensor, "base-5.dcf", NOW, &status) == DCF_REFUSED &&
              strcmp(status.code, "E3008") == 0,
          "rollback after restart: %s", status.code);
    CHECK(load(sensor, "base-6.dcf", NOW, &status) == DCF_REFUSED &&
              strcmp(status.code, "E3008") == 0,
          "the persisted sequence itself: %s", status.code);
    dcf_sensor_free(sensor);
    dcf_scratch_free(scratch);
    printf("evaluation: typed fields, JSON, E3501 to E3504\n");
}

static void test_misuse(void) {
    dcf_status status;
    dcf_sensor *sensor = NULL;
    CHECK(dcf_sensor_new(NULL, &sensor, &status) == DCF_NULL_ARGUMENT, "null config");
    CHECK(strstr(status.message, "config") != NULL, "names it: %s", status.message);
    buffer text = fixture("base.toml");
    buffer key = fixture("trusted.key");
    dcf_sensor_config config;
    memset(&config, 0, sizeof config);
    config.manifest = text.bytes;
    config.manifest_len = text.len;
    config.trusted_keys = key.bytes;
    config.trusted_key_count = 1;
    config.channel = 1;
    CHECK(dcf_sensor_new(&config, NULL, &status) == DCF_NULL_ARGUMENT, "null out");
    CHECK(dcf_sensor_new(&config, &sensor, NULL) == DCF_OK, "a null status is fine");
    dcf_sensor_free(sensor);
    sensor = NULL;

    config.flags = 0x80;
    CHECK(dcf_sensor_new(&config, &sensor, &status) == DCF_INVALID_ARGUMENT && sensor == NULL,
          "unknown flags");
    config.flags = 0;
    config.trusted_keys = NULL;
    CHECK(dcf_sensor_new(&config, &sensor, &status) == DCF_NULL_ARGUMENT, "null keys, count 1");
    /* y = 2 is no point of the curve: no x satisfies its equation. */
    uint8_t not_a_key[32] = {2};
    config.trusted_keys = not_a_key;
    dcf_result r = dcf_sensor_new(&config, &sensor, &status);
    CHECK(r == DCF_INVALID_ARGUMENT && strcmp(status.code, "E3002") == 0,
          "not an Ed25519 key: %d %s", r, status.code);
    config.trusted_keys = key.bytes;
    const char *syntax = "version = ";
    config.manifest = (const uint8_t *)syntax;
    config.manifest_len = strlen(syntax);
    r = dcf_sensor_new(&config, &sensor, &status);
    CHECK(r == DCF_INVALID_ARGUMENT && strcmp(status.code, "E9101") == 0, "TOML: %s",
          status.code);
    const char *inconsistent = "version = \"seven\"\n";
    config.manifest = (const uint8_t *)inconsistent;
    config.manifest_len = strlen(inconsistent);
    r = dcf_sensor_new(&config, &sensor, &status);
    CHECK(r == DCF_INVALID_ARGUMENT && strcmp(status.code, "E9102") == 0 && status.offset == 10,
          "bad version at byte 10: %s %llu", status.code, (unsigned long long)status.offset);
    config.manifest = NULL;
    config.manifest_len = 0;
    r = dcf_sensor_new(&config, &sensor, &status);
    CHECK(r == DCF_INVALID_ARGUMENT, "an empty manifest has no version: %d", r);
    config.manifest = text.bytes;
    config.manifest_len = text.len;
    CHECK(dcf_sensor_new(&config, &sensor, &status) == DCF_OK, "good config");

    uint64_t sequence;
    dcf_content_info info;
    CHECK(dcf_sensor_load(NULL, key.bytes, key.len, NOW, &status) == DCF_NULL_ARGUMENT,
          "null sensor");
    CHECK(dcf_sensor_load(sensor, NULL, 10, NOW, &status) == DCF_NULL_ARGUMENT, "null bytes");
    r = dcf_sensor_load(sensor, NULL, 0, NOW, &status);
    CHECK(r == DCF_REFUSED && strncmp(status.code, "E01", 3) == 0, "an empty update: %s",
          status.code);
    CHECK(dcf_sensor_sequence(NULL, &sequence, &status) == DCF_NULL_ARGUMENT, "null sensor");
    CHECK(dcf_sensor_sequence(sensor, NULL, &status) == DCF_NULL_ARGUMENT, "null out");
    CHECK(dcf_sensor_content(sensor, NULL, &status) == DCF_NULL_ARGUMENT, "null out");
    CHECK(dcf_sensor_content(NULL, &info, &status) == DCF_NULL_ARGUMENT, "null sensor");
    CHECK(dcf_check(NULL, 5, &status) == DCF_NULL_ARGUMENT, "null bytes");
    CHECK(dcf_check(NULL, 0, &status) == DCF_REFUSED, "no bytes");

    dcf_scratch *scratch = NULL;
    CHECK(dcf_scratch_new(NULL, &status) == DCF_NULL_ARGUMENT, "null out");
    CHECK(dcf_scratch_new(&scratch, &status) == DCF_OK, "scratch");
    dcf_event event = {1, NULL, 3};
    CHECK(dcf_sensor_evaluate(NULL, scratch, &event, NULL, NULL, NULL, &status) ==
              DCF_NULL_ARGUMENT,
          "null sensor");
    CHECK(dcf_sensor_evaluate(sensor, NULL, &event, NULL, NULL, NULL, &status) ==
              DCF_NULL_ARGUMENT,
          "null scratch");
    CHECK(dcf_sensor_evaluate(sensor, scratch, NULL, NULL, NULL, NULL, &status) ==
              DCF_NULL_ARGUMENT,
          "null event");
    CHECK(dcf_sensor_evaluate(sensor, scratch, &event, NULL, NULL, NULL, &status) ==
              DCF_NULL_ARGUMENT,
          "null fields, count 3");
    event.field_count = 0;
    r = dcf_sensor_evaluate(sensor, scratch, &event, NULL, NULL, NULL, &status);
    CHECK(r == DCF_REFUSED && strcmp(status.code, "E3501") == 0, "no content yet: %s",
          status.code);
    CHECK(dcf_sensor_evaluate_json(sensor, scratch, NULL, 4, NULL, NULL, NULL, &status) ==
              DCF_NULL_ARGUMENT,
          "null json");
    CHECK(dcf_sensor_evaluate_json(sensor, scratch, NULL, 0, NULL, NULL, NULL, &status) ==
              DCF_INVALID_ARGUMENT,
          "no json");

    /* Freeing null does nothing; each handle is freed once (twice is undefined, as free). */
    dcf_sensor_free(NULL);
    dcf_scratch_free(NULL);
    dcf_scratch_free(scratch);
    dcf_sensor_free(sensor);
    free(text.bytes);
    free(key.bytes);
    printf("misuse: null handles and pointers, zero lengths, bad manifests and keys\n");
}

static dcf_sensor *open_store(const char *dir, dcf_start_report *report) {
    buffer text = fixture("base.toml");
    buffer key = fixture("trusted.key");
    dcf_sensor_config config;
    memset(&config, 0, sizeof config);
    config.manifest = text.bytes;
    config.manifest_len = text.len;
    config.trusted_keys = key.bytes;
    config.trusted_key_count = 1;
    config.channel = 1;
    dcf_sensor *sensor = NULL;
    dcf_status status;
    dcf_result r = dcf_sensor_open_store(&config, NULL, (const uint8_t *)dir, strlen(dir), NOW,
                                         &sensor, report, &status);
    CHECK(r == DCF_OK, "dcf_sensor_open_store: %d %s", r, status.message);
    free(text.bytes);
    free(key.bytes);
    return sensor;
}

/* The content store from C: persisted updates, restarts, probation, quarantine, and a
 * high-water mark that survives a deleted content file (LOADER.md STORE-1 to STORE-7). */
static void test_store(void) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/store", fixtures);
    dcf_start_report report;
    dcf_status status;
    dcf_sensor *sensor = open_store(dir, &report);
    CHECK(report.restored_slot == DCF_SLOT_NONE && report.step_count == 0, "a new store");
    CHECK(load(sensor, "base-5.dcf", NOW, &status) == DCF_OK, "%s", status.message);
    dcf_sensor_free(sensor); /* stops before it confirmed the content healthy */

    for (int start = 1; start <= 3; start++) {
        sensor = open_store(dir, &report);
        CHECK(report.restored_slot == DCF_SLOT_ACTIVE && report.restored_sequence == 5 &&
                  report.on_probation && !report.quarantined,
              "start %d on probation", start);
        dcf_sensor_free(sensor);
    }
    sensor = open_store(dir, &report);
    CHECK(report.quarantined && report.quarantined_sequence == 5, "quarantined at start 4");
    CHECK(report.restored_slot == DCF_SLOT_NONE && active_sequence(sensor) == 0,
          "no previous content: nothing runs");
    dcf_result r = load(sensor, "base-5.dcf", NOW, &status);
    CHECK(r == DCF_REFUSED && strcmp(status.code, "E3701") == 0, "quarantined: %s",
          status.code);
    CHECK(load(sensor, "base-6.dcf", NOW, &status) == DCF_OK, "%s", status.message);
    CHECK(dcf_sensor_confirm_healthy(sensor, &status) == DCF_OK, "%s", status.message);
    CHECK(load(sensor, "gen-6.dcf", NOW, &status) == DCF_OK, "sequence 7: %s", status.message);
    bool confirmed = false;
    CHECK(dcf_sensor_record_evaluations(sensor, 10, &confirmed, &status) == DCF_OK &&
              !confirmed,
          "no probation_events: only an explicit confirmation ends probation");
    CHECK(dcf_sensor_confirm_healthy(sensor, &status) == DCF_OK, "%s", status.message);
    dcf_content_info info;
    CHECK(dcf_sensor_content(sensor, &info, &status) == DCF_OK && info.sequence == 7, "7");
    dcf_sensor_free(sensor);

    /* The active content's file deleted: E3702, the previous one runs, and 7 stays spent. */
    char path[4096 + 80];
    int n = snprintf(path, sizeof path, "%s/content-", dir);
    for (int i = 0; i < 32; i++) n += snprintf(path + n, sizeof path - (size_t)n, "%02x",
                                               info.digest[i]);
    snprintf(path + n, sizeof path - (size_t)n, ".dcf");
    CHECK(remove(path) == 0, "remove %s", path);
    sensor = open_store(dir, &report);
    CHECK(report.step_count == 2 && report.steps[0].slot == DCF_SLOT_ACTIVE &&
              strcmp(report.steps[0].code, "E3702") == 0 && report.steps[1].code[0] == '\0',
          "active refused with E3702, previous restored: %s", report.steps[0].code);
    CHECK(report.restored_slot == DCF_SLOT_PREVIOUS && report.restored_sequence == 6, "6 runs");
    r = load(sensor, "gen-6.dcf", NOW, &status);
    CHECK(r == DCF_REFUSED && strcmp(status.code, "E3008") == 0, "7 again: %s", status.code);
    dcf_sensor_free(sensor);

    /* A sensor without a store has nothing to confirm. */
    sensor = new_sensor("base.toml", 1, 0, 0);
    CHECK(dcf_sensor_confirm_healthy(sensor, &status) == DCF_INVALID_ARGUMENT, "no store");
    CHECK(dcf_sensor_open_store(NULL, NULL, (const uint8_t *)dir, strlen(dir), NOW, &sensor,
                                NULL, &status) == DCF_NULL_ARGUMENT,
          "null config");
    dcf_sensor_free(sensor);
    printf("store: restored, probation, quarantine (E3701), deleted file (E3702)\n");
}

enum { READERS = 4, GENERATIONS = 24 };

typedef struct reader {
    const dcf_sensor *sensor;
    atomic_int *started;
    atomic_bool *stop;
    int evaluations;
    int mixed;
    int backwards;
} reader;

static void *read_loop(void *arg) {
    reader *me = arg;
    dcf_scratch *scratch = NULL;
    if (dcf_scratch_new(&scratch, NULL) != DCF_OK) return NULL;
    dcf_value fields[5] = {str("x.exe"), str("run probe now"), integer(1), absent(), absent()};
    dcf_event event = {1, fields, 5};
    uint64_t last = 0;
    bool last_round = false;
    for (;;) {
        dcf_evaluation result;
        if (dcf_sensor_evaluate(me->sensor, scratch, &event, NULL, NULL, &result, NULL) !=
            DCF_OK) {
            me->mixed++;
            break;
        }
        /* Generation g has sequence g + 1 and g + 1 rules that all match. */
        if (result.match_count != result.sequence) me->mixed++;
        if (result.sequence < last) me->backwards++;
        last = result.sequence;
        if (++me->evaluations == 1) atomic_fetch_add(me->started, 1);
        if (last_round) break;
        /* Enough evaluations across the swaps (valgrind runs threads one at a time): wait
         * for the last load, then evaluate once more. */
        if (me->evaluations >= 2000)
            while (!atomic_load(me->stop)) sched_yield();
        last_round = atomic_load(me->stop);
    }
    dcf_scratch_free(scratch);
    return NULL;
}

static void test_threads(void) {
    dcf_sensor *sensor = new_sensor("base.toml", 1, 0, 0);
    dcf_status status;
    CHECK(load(sensor, "gen-0.dcf", NOW, &status) == DCF_OK, "%s", status.message);
    atomic_int started = 0;
    atomic_bool stop = false;
    reader readers[READERS];
    pthread_t threads[READERS];
    for (int i = 0; i < READERS; i++) {
        readers[i] = (reader){sensor, &started, &stop, 0, 0, 0};
        pthread_create(&threads[i], NULL, read_loop, &readers[i]);
    }
    /* Every reader evaluates once before the first swap and again after the last, however
     * the threads are scheduled. */
    while (atomic_load(&started) < READERS) sched_yield();
    for (int g = 1; g < GENERATIONS; g++) {
        char name[32];
        snprintf(name, sizeof name, "gen-%d.dcf", g);
        CHECK(load(sensor, name, NOW, &status) == DCF_OK, "%s: %s", name, status.message);
    }
    atomic_store(&stop, true);
    int evaluations = 0;
    for (int i = 0; i < READERS; i++) {
        pthread_join(threads[i], NULL);
        CHECK(readers[i].mixed == 0, "reader %d saw a mix %d times", i, readers[i].mixed);
        CHECK(readers[i].backwards == 0, "reader %d went back", i);
        CHECK(readers[i].evaluations >= 2, "reader %d evaluated before and after", i);
        evaluations += readers[i].evaluations;
    }
    CHECK(active_sequence(sensor) == GENERATIONS, "the last generation is active");
    dcf_sensor_free(sensor);
    printf("threads: %d readers, %d evaluations across %d loads, no mix\n", READERS,
           evaluations, GENERATIONS - 1);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s FIXTURE_DIR\n", argv[0]);
        return 2;
    }
    fixtures = argv[1];
    test_version();
    test_key_file();
    test_check_corpus();
    test_load_refusals();
    test_channel_file_291();
    test_evaluate();
    test_misuse();
    test_threads();
    test_store();
    if (failures != 0) {
        fprintf(stderr, "%d C ABI checks failed\n", failures);
        return 1;
    }
    printf("all C ABI tests passed\n");
    return 0;
}
