/* The hot loops of building the search index, called through ctypes from bot/bulk_terms.py.

   scan(): the terms of many texts in one pass, each character through the lookup tables
   bulk_terms.py builds (NFKC, case folding, traditional -> simplified, character class).
   A text the tables cannot do exactly is flagged "slow" and gives nothing; Python takes
   it another way. Terms are raw ids here (one per distinct CJK character, character pair
   or English run); Python works out once per raw id which vocabulary terms it stands
   for. Per raw id the scanner keeps the documents it occurs in, with summed weights,
   and the phrases (titles and questions, fillers dropped) it occurs in.

   spread() and settle_rows(): those lists, from several scanners, as the rows of a CSR
   matrix by term.

   Only texts_view() uses the Python API (called with the GIL held); the rest is plain C
   on buffers, called with the GIL released so that two scanners run at once. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { OTHER = 0, CJK = 1, WORD = 2, SLOW = 3, APOSTROPHE = 4 };
enum { RAW_CHAR = 1, RAW_PAIR = 2, RAW_WORD = 3 };
enum { PREPARED = 1 };
#define LONGEST_WORD 32
#define CLASS_AT 16
#define DIALECT_BIT (1u << 20)
#define EMPTY (-1)
#define BLOCK 255
#define RAW_BITS 7 /* a bucket holds the entries of 128 raw ids */
#define MOST_WEIGHT ((1u << (32 - RAW_BITS)) - 1)

typedef struct {
    int32_t doc;
    uint32_t wr; /* weight << RAW_BITS | raw id % 128 */
} Entry;

/* A bucket is a chain of blocks of BLOCK entries in s->entries (block b: entries
   b * BLOCK on); it is written at cur, and its last block ends at end. */
typedef struct {
    int64_t cur, end;
    int32_t head, tail;
} List;

typedef struct {
    int32_t doc;
    float w;
} Posting;

/* Entries (document, raw id, weight) as they come, in buckets by raw id; spread() then
   puts them in their rows. Two steps so that writes stay in cache: a row per raw id at
   once would miss it on every entry. */
typedef struct {
    List *buckets;
    int64_t n_buckets;
    int64_t *count; /* per raw id: entries */
} Lists;

/* Words found leftmost, longest first, as a regular expression of alternatives does:
   fillers (dropped in phrases), or dialect with what replaces it. */
typedef struct {
    int32_t n; /* longest first */
    int32_t growth; /* at most this many characters replace one */
    int32_t *key_at, *key_len, *to_at, *to_len;
    uint16_t *units; /* keys and replacements */
    int32_t *group_at, *group; /* entries by first character: group g (from 1) is
                                  group[group_at[g]:group_at[g + 1]] */
    uint8_t starts[65536];        /* per character: its group, or 0 */
} Book;

typedef struct {
    uint32_t key; /* a pair, or a word's hash (words are then compared by spelling) */
    int32_t id;
} Slot;

typedef struct {
    Slot *slots;
    int64_t size, used; /* size a power of 2, at most half used */
} Table;

typedef struct {
    /* per code unit, one look-up: the character it becomes (low 16 bits), its class
       (CLASS_AT), and whether that character starts a dialect word (DIALECT_BIT) */
    uint32_t unit[65536];
    Book fillers, dialect;
    /* raw ids: characters directly, pairs and words in open-addressing tables */
    int32_t chars[65536];
    Table pairs_seen, words_seen;
    int32_t n_raw;
    int64_t raw_cap;
    uint8_t *raw_kind;
    uint32_t *raw_code; /* character, or first << 16 | second */
    int64_t *raw_at;    /* a word's spelling in pool */
    int32_t *raw_len;
    Lists docs, phrases; /* of each raw id: documents and phrases it is in */
    int32_t *slot;        /* per raw id: its place in touched, for the document of ... */
    int32_t *stamp;       /* ... this number (a raw id not yet in it has an older one) */
    int32_t *mark;        /* per raw id: last phrase it was listed for */
    uint8_t *blocked;     /* per raw id: its texts go another way */
    char *pool;
    int64_t pool_len, pool_cap;
    Entry *entries;
    int32_t *next; /* per block: the next of its bucket */
    int64_t n_blocks, entries_cap, next_cap;
    /* the document being summed: its raw ids and their weights */
    int32_t doc, n_docs_seen;
    int32_t *touched, *weight;
    int64_t n_touched, touched_cap, weight_cap;
    /* one text: characters and classes (and a second pair for dialect folded), raw ids */
    uint16_t *ch, *ch2;
    uint8_t *cl, *cl2;
    int32_t *line;
    int64_t ch_cap, cl_cap, ch2_cap, cl2_cap, line_cap;
} Scanner;

static void *resize(void *p, int64_t n, size_t size) {
    void *q = realloc(p, (size_t)(n ? n : 1) * size);
    if (!q) abort(); /* out of memory: as Python would, but without a MemoryError */
    return q;
}

/* p with room for need items (doubling); *cap is updated. */
static void *grow(void *p, int64_t *cap, int64_t need, size_t size) {
    if (need <= *cap) return p;
    int64_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    *cap = c;
    return resize(p, c, size);
}

static void table_init(Table *t, int64_t size) {
    t->slots = resize(NULL, size, sizeof(Slot));
    for (int64_t i = 0; i < size; i++) t->slots[i].id = EMPTY;
    t->size = size;
    t->used = 0;
}

/* A book from [n, then per entry: key length, replacement length, key units, replacement
   units]. */
static void book_init(Book *b, const int32_t *packed) {
    b->n = packed[0];
    b->key_at = resize(NULL, b->n, 4);
    b->key_len = resize(NULL, b->n, 4);
    b->to_at = resize(NULL, b->n, 4);
    b->to_len = resize(NULL, b->n, 4);
    int64_t total = 0, at = 1;
    for (int32_t k = 0; k < b->n; k++) {
        total += packed[at] + packed[at + 1];
        at += 2 + packed[at] + packed[at + 1];
    }
    b->units = resize(NULL, total, 2);
    int32_t u = 0;
    at = 1;
    for (int32_t k = 0; k < b->n; k++) {
        b->key_len[k] = packed[at];
        b->to_len[k] = packed[at + 1];
        at += 2;
        b->key_at[k] = u;
        for (int32_t j = 0; j < b->key_len[k]; j++) b->units[u++] = (uint16_t)packed[at++];
        b->to_at[k] = u;
        for (int32_t j = 0; j < b->to_len[k]; j++) b->units[u++] = (uint16_t)packed[at++];
        int32_t most = (b->to_len[k] + b->key_len[k] - 1) / b->key_len[k];
        if (most > b->growth) b->growth = most;
    }
    if (b->growth < 1) b->growth = 1;
    /* groups of entries by first character, each longest first (as the entries) */
    int32_t groups = 0;
    for (int32_t k = 0; k < b->n; k++) {
        uint16_t first = b->units[b->key_at[k]];
        if (!b->starts[first]) {
            if (groups == 255) abort(); /* more first characters than a byte can tell */
            b->starts[first] = (uint8_t)++groups;
        }
    }
    b->group_at = resize(NULL, groups + 2, 4);
    b->group = resize(NULL, b->n, 4);
    memset(b->group_at, 0, sizeof(int32_t) * (groups + 2));
    for (int32_t k = 0; k < b->n; k++) b->group_at[b->starts[b->units[b->key_at[k]]] + 1]++;
    for (int32_t g = 1; g <= groups + 1; g++) b->group_at[g] += b->group_at[g - 1];
    int32_t *next = resize(NULL, groups + 2, 4);
    memcpy(next, b->group_at, sizeof(int32_t) * (groups + 2));
    for (int32_t k = 0; k < b->n; k++) /* in entry order: longest first within a group */
        b->group[next[b->starts[b->units[b->key_at[k]]]]++] = k;
    free(next);
}

static void book_free(Book *b) {
    free(b->key_at);
    free(b->key_len);
    free(b->to_at);
    free(b->to_len);
    free(b->units);
    free(b->group_at);
    free(b->group);
}

/* The entry whose key is at ch[j..n), longest first; -1 if none. */
static int32_t book_match(const Book *b, const uint16_t *ch, int64_t j, int64_t n) {
    int32_t g = b->starts[ch[j]];
    if (!g) return -1;
    for (int32_t e = b->group_at[g]; e < b->group_at[g + 1]; e++) {
        int32_t k = b->group[e];
        int32_t len = b->key_len[k];
        if (j + len > n) continue;
        const uint16_t *key = b->units + b->key_at[k];
        int32_t i = 0;
        while (i < len && ch[j + i] == key[i]) i++;
        if (i == len) return k;
    }
    return -1;
}

Scanner *scanner_new(const uint16_t *mapped, const uint8_t *kind, const int32_t *fillers,
                     const int32_t *dialect) {
    Scanner *s = calloc(1, sizeof(Scanner));
    if (!s) abort();
    book_init(&s->fillers, fillers);
    book_init(&s->dialect, dialect);
    for (int u = 0; u < 65536; u++)
        s->unit[u] = mapped[u] | (uint32_t)kind[u] << CLASS_AT
                     | (s->dialect.starts[mapped[u]] ? DIALECT_BIT : 0);
    for (int i = 0; i < 65536; i++) s->chars[i] = EMPTY;
    table_init(&s->pairs_seen, 1 << 12);
    table_init(&s->words_seen, 1 << 12);
    s->doc = EMPTY;
    return s;
}

void scanner_free(Scanner *s) {
    if (!s) return;
    book_free(&s->fillers);
    book_free(&s->dialect);
    void *owned[] = {s->ch, s->cl, s->ch2, s->cl2, s->line, s->pairs_seen.slots,
                     s->words_seen.slots, s->raw_kind, s->raw_code, s->raw_at, s->raw_len,
                     s->slot, s->stamp, s->mark, s->blocked, s->pool, s->entries, s->next,
                     s->touched, s->weight};
    Lists *lists[] = {&s->docs, &s->phrases};
    for (int k = 0; k < 2; k++) {
        free(lists[k]->buckets);
        free(lists[k]->count);
    }
    for (size_t k = 0; k < sizeof owned / sizeof *owned; k++) free(owned[k]);
    free(s);
}

static int32_t new_raw(Scanner *s, uint8_t kind, uint32_t code, int64_t at, int32_t len) {
    if (s->n_raw == s->raw_cap) {
        int64_t c = s->raw_cap ? 2 * s->raw_cap : 1024;
        s->raw_kind = resize(s->raw_kind, c, 1);
        s->raw_code = resize(s->raw_code, c, 4);
        s->raw_at = resize(s->raw_at, c, 8);
        s->raw_len = resize(s->raw_len, c, 4);
        s->docs.count = resize(s->docs.count, c, 8);
        s->phrases.count = resize(s->phrases.count, c, 8);
        s->slot = resize(s->slot, c, 4);
        s->stamp = resize(s->stamp, c, 4);
        s->mark = resize(s->mark, c, 4);
        s->blocked = resize(s->blocked, c, 1);
        s->raw_cap = c;
    }
    int32_t id = s->n_raw++;
    s->raw_kind[id] = kind;
    s->raw_code[id] = code;
    s->raw_at[id] = at;
    s->raw_len[id] = len;
    s->docs.count[id] = s->phrases.count[id] = 0;
    s->stamp[id] = EMPTY;
    s->mark[id] = EMPTY;
    s->blocked[id] = 0;
    return id;
}

static void append(Scanner *s, Lists *lists, int32_t raw, int32_t doc, uint32_t w) {
    int64_t bucket = raw >> RAW_BITS;
    if (bucket >= lists->n_buckets) {
        int64_t n = lists->n_buckets;
        lists->buckets = grow(lists->buckets, &lists->n_buckets, bucket + 1, sizeof(List));
        for (int64_t k = n; k < lists->n_buckets; k++)
            lists->buckets[k] = (List){0, 0, EMPTY, EMPTY};
    }
    List *list = &lists->buckets[bucket];
    if (list->cur == list->end) {
        int32_t b = (int32_t)s->n_blocks++;
        s->entries = grow(s->entries, &s->entries_cap, s->n_blocks * BLOCK, sizeof(Entry));
        s->next = grow(s->next, &s->next_cap, s->n_blocks, sizeof(int32_t));
        s->next[b] = EMPTY;
        if (list->tail == EMPTY) list->head = b;
        else s->next[list->tail] = b;
        list->tail = b;
        list->cur = (int64_t)b * BLOCK;
        list->end = list->cur + BLOCK;
    }
    w = w < MOST_WEIGHT ? w : MOST_WEIGHT;
    s->entries[list->cur++] = (Entry){doc, w << RAW_BITS | (uint32_t)(raw & ((1 << RAW_BITS) - 1))};
}

/* Where block b of a bucket's chain stops. */
static inline int64_t block_end(const List *list, int32_t b) {
    return b == list->tail ? list->cur : ((int64_t)b + 1) * BLOCK;
}

#define RAW_OF(bucket, e) ((bucket) << RAW_BITS | ((e).wr & ((1 << RAW_BITS) - 1)))

/* Entries per raw id, counted from the buckets (not while scanning: cache misses). */
static void count(Scanner *s, Lists *lists) {
    memset(lists->count, 0, sizeof(int64_t) * s->n_raw);
    for (int64_t bucket = 0; bucket < lists->n_buckets; bucket++) {
        const List *list = &lists->buckets[bucket];
        for (int32_t b = list->head; b != EMPTY; b = s->next[b])
            for (int64_t i = (int64_t)b * BLOCK; i < block_end(list, b); i++)
                lists->count[RAW_OF(bucket, s->entries[i])]++;
    }
}

static inline int64_t slot_of(uint32_t key, int64_t size) {
    return (int64_t)(((uint64_t)key * 0x9E3779B97F4A7C15ULL) >> 40) & (size - 1);
}

/* After a new entry went into slot j: grow when more than half full. */
static void added(Table *t, int64_t j, uint32_t key, int32_t id) {
    t->slots[j].key = key;
    t->slots[j].id = id;
    if (2 * ++t->used <= t->size) return;
    Table bigger;
    table_init(&bigger, t->size * 2);
    for (int64_t i = 0; i < t->size; i++) {
        if (t->slots[i].id == EMPTY) continue;
        int64_t k = slot_of(t->slots[i].key, bigger.size);
        while (bigger.slots[k].id != EMPTY) k = (k + 1) & (bigger.size - 1);
        bigger.slots[k] = t->slots[i];
    }
    bigger.used = t->used;
    free(t->slots);
    *t = bigger;
}

static int32_t pair_id(Scanner *s, uint32_t pair) {
    Table *t = &s->pairs_seen;
    int64_t j = slot_of(pair, t->size);
    for (; t->slots[j].id != EMPTY; j = (j + 1) & (t->size - 1))
        if (t->slots[j].key == pair) return t->slots[j].id;
    int32_t id = new_raw(s, RAW_PAIR, pair, 0, 0);
    added(t, j, pair, id);
    return id;
}

/* Words are told apart by spelling, so hash collisions cost nothing. */
static int32_t word_id(Scanner *s, const uint16_t *word, int32_t len) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (int32_t k = 0; k < len; k++) h = (h ^ word[k]) * 16777619u;
    Table *t = &s->words_seen;
    int64_t j = slot_of(h, t->size);
    for (; t->slots[j].id != EMPTY; j = (j + 1) & (t->size - 1)) {
        int32_t id = t->slots[j].id;
        if (t->slots[j].key != h || s->raw_len[id] != len) continue;
        const char *spelt = s->pool + s->raw_at[id];
        int32_t k = 0;
        while (k < len && spelt[k] == (char)word[k]) k++;
        if (k == len) return id;
    }
    s->pool = grow(s->pool, &s->pool_cap, s->pool_len + len, 1);
    for (int32_t k = 0; k < len; k++) s->pool[s->pool_len + k] = (char)word[k];
    int32_t id = new_raw(s, RAW_WORD, 0, s->pool_len, len);
    s->pool_len += len;
    added(t, j, h, id);
    return id;
}

/* Whether any character after position p of the text is not a space (clean() trims). */
static int more_after(const uint16_t *ch, int64_t n, int64_t p) {
    for (int64_t k = p + 1; k < n; k++)
        if (ch[k] != ' ') return 1;
    return 0;
}

/* Dialect words of the text in s->ch / s->cl (n characters) replaced, as prepare() does
   after normalising: the result goes to the second pair of buffers, which then swap.
   Returns the new length, or -1 if a replacement is something the tables cannot do.
   *dropped tells whether a word was replaced by nothing. */
static int64_t fold(Scanner *s, int64_t n, int *dropped) {
    s->ch2 = grow(s->ch2, &s->ch2_cap, s->dialect.growth * n + 1, 2);
    s->cl2 = grow(s->cl2, &s->cl2_cap, s->dialect.growth * n + 1, 1);
    int64_t o = 0;
    for (int64_t j = 0; j < n;) {
        int32_t k = book_match(&s->dialect, s->ch, j, n);
        if (k < 0) {
            s->ch2[o] = s->ch[j];
            s->cl2[o++] = s->cl[j++];
            continue;
        }
        *dropped |= s->dialect.to_len[k] == 0;
        for (int32_t i = 0; i < s->dialect.to_len[k]; i++) {
            uint32_t look = s->unit[s->dialect.units[s->dialect.to_at[k] + i]];
            uint8_t kind = (look >> CLASS_AT) & 7;
            if (kind == SLOW) return -1;
            s->ch2[o] = (uint16_t)look;
            s->cl2[o++] = kind;
        }
        j += s->dialect.key_len[k];
    }
    uint16_t *ch = s->ch;
    uint8_t *cl = s->cl;
    int64_t ch_cap = s->ch_cap, cl_cap = s->cl_cap;
    s->ch = s->ch2, s->cl = s->cl2, s->ch_cap = s->ch2_cap, s->cl_cap = s->cl2_cap;
    s->ch2 = ch, s->cl2 = cl, s->ch2_cap = ch_cap, s->cl2_cap = cl_cap;
    return o;
}

/* Characters and classes of one text in s->ch / s->cl, with the rules of prepare() and
   tokens() for dialect and apostrophes applied. Returns its length then, or -1 when the
   text must be done another way. */
static int64_t classify(Scanner *s, const void *data, int bytes, int64_t n, int flags) {
    uint16_t *ch = s->ch;
    uint8_t *cl = s->cl;
    const uint8_t *narrow = data;
    const uint16_t *wide = data;
    int prepared = flags & PREPARED;
    int apostrophes = 0, dialect = 0;
    int64_t run = 0;
    for (int64_t j = 0; j < n; j++) {
        uint16_t u = bytes == 1 ? narrow[j] : wide[j];
        uint32_t look = s->unit[u];
        uint16_t c = (uint16_t)look;
        uint8_t k = (look >> CLASS_AT) & 7;
        if (k == SLOW) {
            /* after prepare() a slash or ampersand is punctuation (shorthand is done) */
            if (prepared && (u == '/' || u == '&')) k = OTHER;
            else return -1;
        }
        ch[j] = c;
        cl[j] = k;
        apostrophes |= k == APOSTROPHE;
        dialect |= look & DIALECT_BIT;
        run = k == WORD ? run + 1 : 0;
        if (run > LONGEST_WORD) return -1;
    }
    if (dialect && !prepared) {
        int dropped = 0;
        n = fold(s, n, &dropped);
        /* "x's 啦": the space before a word replaced by nothing ends the text then, and
           "'s " goes; the rule below goes by the text before folding */
        if (n < 0 || (dropped && apostrophes)) return -1;
        ch = s->ch;
        cl = s->cl;
    }
    if (apostrophes) {
        /* "'s " goes when text follows; "don't" stays one word */
        for (int64_t j = 0; j < n; j++) {
            if (cl[j] != APOSTROPHE) continue;
            if (!prepared && j + 2 < n && ch[j + 1] == 's' && ch[j + 2] == ' '
                    && more_after(ch, n, j + 2)) {
                cl[j] = cl[j + 1] = OTHER;
                continue;
            }
            cl[j] = OTHER;
            if (j > 0 && j + 1 < n && cl[j - 1] == WORD && cl[j + 1] == WORD) {
                if (ch[j + 1] >= 'a' && ch[j + 1] <= 'z') cl[j] = WORD;
                else if (!prepared) return -1; /* "x'2": shorthand may make the 2 a word */
            }
        }
    }
    if (apostrophes || dialect) { /* runs may have joined */
        run = 0;
        for (int64_t j = 0; j < n; j++) {
            run = cl[j] == WORD ? run + 1 : 0;
            if (run > LONGEST_WORD) return -1;
        }
    }
    return n;
}

/* Blank filler words in s->cl as the filler pattern does: leftmost, longest first, no
   overlaps. Returns whether any was found. */
static int drop_fillers(Scanner *s, int64_t n) {
    int dropped = 0;
    for (int64_t j = 0; j < n;) {
        int32_t k = book_match(&s->fillers, s->ch, j, n);
        int32_t taken = k < 0 ? 0 : s->fillers.key_len[k];
        if (taken) {
            memset(s->cl + j, OTHER, (size_t)taken);
            j += taken;
            dropped = 1;
        } else {
            j++;
        }
    }
    return dropped;
}

/* The raw ids of one classified text in s->line; returns how many, or -1 when one of
   them is blocked. */
static int64_t line_terms(Scanner *s, int64_t n) {
    const uint16_t *ch = s->ch;
    const uint8_t *cl = s->cl;
    int32_t *out = s->line;
    int64_t o = 0;
    for (int64_t j = 0; j < n; j++) {
        if (cl[j] == CJK) {
            int32_t id = s->chars[ch[j]];
            if (id == EMPTY) id = s->chars[ch[j]] = new_raw(s, RAW_CHAR, ch[j], 0, 0);
            out[o++] = id;
            if (j + 1 < n && cl[j + 1] == CJK)
                out[o++] = pair_id(s, (uint32_t)ch[j] << 16 | ch[j + 1]);
        } else if (cl[j] == WORD) {
            int64_t end = j;
            while (end < n && cl[end] == WORD) end++;
            int32_t id = word_id(s, ch + j, (int32_t)(end - j));
            if (s->blocked[id]) return -1;
            out[o++] = id;
            j = end - 1;
        }
    }
    return o;
}

/* The summed weights of the document so far go to the raw ids' lists. */
static void flush(Scanner *s) {
    for (int64_t k = 0; k < s->n_touched; k++) {
        int32_t r = s->touched[k];
        append(s, &s->docs, r, s->doc, (uint32_t)s->weight[k]);
    }
    s->n_touched = 0;
}

/* n texts, text i: data[i] (kinds[i] bytes per character: 1 or 2; 4 is never done here),
   lens[i] characters; it counts for document docs[i] (documents come one after another)
   with weight weights[i] >= 1, and is phrase phrases[i] (ascending) unless that is < 0.
   slow[i] = 1 for a text left out: the tables cannot do it, or it has a blocked word.
   Call scanner_done() after the last batch. */
void scan(Scanner *s, void *const *data, const uint8_t *kinds, const int64_t *lens, int32_t n,
          const int32_t *docs, const uint8_t *weights, const int32_t *phrases, int32_t flags,
          uint8_t *slow) {
    for (int32_t i = 0; i < n; i++) {
        int64_t len = lens[i];
        slow[i] = 1;
        if (kinds[i] == 4) continue; /* characters beyond the BMP */
        s->ch = grow(s->ch, &s->ch_cap, len + 1, 2);
        s->cl = grow(s->cl, &s->cl_cap, len + 1, 1);
        len = classify(s, data[i], kinds[i], len, flags);
        if (len < 0) continue;
        s->line = grow(s->line, &s->line_cap, 2 * len + 1, 4);
        int64_t found = line_terms(s, len);
        if (found < 0) continue;
        slow[i] = 0;
        if (docs[i] != s->doc) {
            flush(s);
            s->doc = docs[i];
            s->n_docs_seen++;
        }
        s->touched = grow(s->touched, &s->touched_cap, s->n_touched + found, 4);
        s->weight = grow(s->weight, &s->weight_cap, s->n_touched + found, 4);
        for (int64_t k = 0; k < found; k++) {
            int32_t r = s->line[k];
            if (s->stamp[r] != s->n_docs_seen) {
                s->stamp[r] = s->n_docs_seen;
                s->slot[r] = (int32_t)s->n_touched;
                s->touched[s->n_touched] = r;
                s->weight[s->n_touched++] = 0;
            }
            s->weight[s->slot[r]] += weights[i];
        }
        int32_t phrase = phrases[i];
        if (phrase < 0) continue;
        if (drop_fillers(s, len)) found = line_terms(s, len);
        for (int64_t k = 0; k < found; k++) {
            int32_t r = s->line[k];
            if (s->mark[r] == phrase) continue;
            s->mark[r] = phrase;
            append(s, &s->phrases, r, phrase, 1);
        }
    }
}

void scanner_done(Scanner *s) {
    flush(s);
    count(s, &s->docs);
    count(s, &s->phrases);
}

/* Start again with the same raw ids, leaving out texts with any of these. */
void scanner_block(Scanner *s, const int32_t *ids, int64_t n) {
    for (int64_t k = 0; k < n; k++) s->blocked[ids[k]] = 1;
    for (int32_t r = 0; r < s->n_raw; r++) {
        s->docs.count[r] = s->phrases.count[r] = 0;
        s->stamp[r] = EMPTY;
        s->mark[r] = EMPTY;
    }
    Lists *lists[] = {&s->docs, &s->phrases};
    for (int k = 0; k < 2; k++)
        for (int64_t b = 0; b < lists[k]->n_buckets; b++)
            lists[k]->buckets[b] = (List){0, 0, EMPTY, EMPTY};
    s->n_blocks = 0;
    s->n_touched = 0;
    s->doc = EMPTY;
}

int32_t scanner_size(const Scanner *s) { return s->n_raw; }

int64_t scanner_pool_size(const Scanner *s) { return s->pool_len; }

/* Per raw id: kind, code (character or pair), a word's place in the pool, and how many
   documents and phrases it is in; and the pool of spellings. */
void scanner_export(const Scanner *s, uint8_t *kind, uint32_t *code, int64_t *at, int32_t *len,
                    int64_t *n_docs, int64_t *n_phrases, char *pool) {
    memcpy(kind, s->raw_kind, s->n_raw);
    memcpy(code, s->raw_code, sizeof(uint32_t) * s->n_raw);
    memcpy(at, s->raw_at, sizeof(int64_t) * s->n_raw);
    memcpy(len, s->raw_len, sizeof(int32_t) * s->n_raw);
    memcpy(n_docs, s->docs.count, sizeof(int64_t) * s->n_raw);
    memcpy(n_phrases, s->phrases.count, sizeof(int64_t) * s->n_raw);
    memcpy(pool, s->pool, s->pool_len);
}

static int by_doc(const void *a, const void *b) {
    int32_t x = ((const Posting *)a)->doc, y = ((const Posting *)b)->doc;
    return (x > y) - (x < y);
}

/* A scanner's entries into rows (of phrases when `phrases`): raw id r's entries go, in
   document order, to each of places[at[r]:at[r] + count[r]], which move on as they are
   filled. Scanners write different places: two may run at once. */
void spread(Scanner *s, int32_t phrases, const int64_t *at, const int32_t *count, int64_t *places,
            int32_t *out_doc, float *out_w) {
    Lists *lists = phrases ? &s->phrases : &s->docs;
    for (int64_t bucket = 0; bucket < lists->n_buckets; bucket++) {
        const List *list = &lists->buckets[bucket];
        for (int32_t b = list->head; b != EMPTY; b = s->next[b]) {
            for (int64_t i = (int64_t)b * BLOCK; i < block_end(list, b); i++) {
                int64_t r = RAW_OF(bucket, s->entries[i]);
                float w = (float)(s->entries[i].wr >> RAW_BITS);
                for (int32_t j = 0; j < count[r]; j++) {
                    int64_t p = places[at[r] + j]++;
                    out_doc[p] = s->entries[i].doc;
                    out_w[p] = w;
                }
            }
        }
    }
}

/* One row, docs / ws [0, n): an ascending start [0, sorted) and a tail in any order (from
   the texts done after prepare(), or another raw id of the term; mostly documents the
   start has too). Sorted with repeats merged, weights summed; returns the new length. */
static int64_t settle(int32_t *docs, float *ws, int64_t sorted, int64_t n, Posting *tail) {
    int64_t m = n - sorted, kept = 0, runs = 1;
    for (int64_t k = 0; k < m; k++) {
        tail[k] = (Posting){docs[sorted + k], ws[sorted + k]};
        runs += k && tail[k].doc < tail[k - 1].doc;
    }
    if (runs > 1) qsort(tail, (size_t)m, sizeof(Posting), by_doc); /* one run: sorted */
    int64_t from = 0; /* the start's documents below tail[k]'s, known so far */
    for (int64_t k = 0; k < m; k++) { /* into the start where it has the document */
        int64_t step = 1, lo = from, hi = from; /* gallop, then halve */
        while (hi < sorted && docs[hi] < tail[k].doc) {
            lo = hi + 1;
            hi += step;
            step *= 2;
        }
        if (hi > sorted) hi = sorted;
        while (lo < hi) {
            int64_t mid = (lo + hi) / 2;
            if (docs[mid] < tail[k].doc) lo = mid + 1;
            else hi = mid;
        }
        from = lo;
        if (lo < sorted && docs[lo] == tail[k].doc) ws[lo] += tail[k].w;
        else if (kept && tail[kept - 1].doc == tail[k].doc) tail[kept - 1].w += tail[k].w;
        else tail[kept++] = tail[k];
    }
    /* the rest, ascending, merged in from the back: the row has room for them */
    int64_t a = sorted - 1, b = kept - 1, at = sorted + kept - 1;
    for (; b >= 0; at--) {
        if (a >= 0 && docs[a] > tail[b].doc) {
            docs[at] = docs[a];
            ws[at] = ws[a--];
        } else {
            docs[at] = tail[b].doc;
            ws[at] = tail[b--].w;
        }
    }
    return sorted + kept;
}

/* Rows t in [first, last), docs / ws [ptr[t], ptr[t+1]), sorted by document with repeats
   merged, then moved together from out on (out <= ptr[first]); ptr[first:last] is
   rewritten, not ptr[last]. Returns where they end. */
int64_t settle_rows(int64_t *ptr, int32_t first, int32_t last, int64_t out, int32_t *docs,
                    float *ws) {
    int64_t tail_cap = 0;
    Posting *tail = NULL;
    for (int32_t t = first; t < last; t++) {
        int64_t lo = ptr[t], n = ptr[t + 1] - lo;
        ptr[t] = out;
        int64_t j = 1;
        while (j < n && docs[lo + j] > docs[lo + j - 1]) j++;
        if (j < n) {
            tail = grow(tail, &tail_cap, n - j, sizeof(Posting));
            n = settle(docs + lo, ws + lo, j, n, tail);
        }
        if (out != lo && n) {
            memmove(docs + out, docs + lo, sizeof(int32_t) * n);
            memmove(ws + out, ws + lo, sizeof(float) * n);
        }
        out += n;
    }
    free(tail);
    return out;
}

/* Per document, the sum of the weights of the rows it is in (row t weighs
   row_weight[t]; in entry order, as numpy's bincount adds). */
void column_sums(const int64_t *ptr, int32_t n_rows, const int32_t *doc, const double *row_weight,
                 double *out) {
    for (int32_t t = 0; t < n_rows; t++)
        for (int64_t i = ptr[t]; i < ptr[t + 1]; i++) out[doc[i]] += row_weight[t];
}

/* Per document, the sum of its weights (in entry order, as numpy's bincount adds). */
void doc_lengths(const int32_t *doc, const float *w, int64_t n, double *out) {
    for (int64_t i = 0; i < n; i++) out[doc[i]] += w[i];
}

/* BM25 term weights in place, from summed field weights (tf) and document lengths. */
void bm25(const int32_t *doc, float *w, int64_t n, const double *doc_len, double avg, double k1,
          double b) {
    for (int64_t i = 0; i < n; i++) {
        double tf = w[i];
        double norm = k1 * (1 - b + b * doc_len[doc[i]] / avg);
        w[i] = (float)(tf * (k1 + 1) / (tf + norm));
    }
}

/* Entries made elsewhere (the string path): entry k is raw id raw[k] in document doc[k]
   (ascending) with weight w[k], to the phrase lists when `phrases`. Raw ids are created
   as needed. Call scanner_done() after. */
void scanner_put(Scanner *s, int64_t n, const int32_t *raw, const int32_t *doc, const uint32_t *w,
                 int32_t phrases) {
    for (int64_t k = 0; k < n; k++) {
        while (s->n_raw <= raw[k]) new_raw(s, 0, 0, 0, 0);
        append(s, phrases ? &s->phrases : &s->docs, raw[k], doc[k], w[k]);
    }
}

/* The buffers of a list of str, for scan() (call with the GIL held; the list must stay
   alive and unchanged while they are used). Returns -1 if an item is not a str. */
int texts_view(PyObject *texts, const void **data, uint8_t *kinds, int64_t *lens) {
    Py_ssize_t n = PyList_GET_SIZE(texts);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *text = PyList_GET_ITEM(texts, i);
        if (!PyUnicode_Check(text)) return -1;
        data[i] = PyUnicode_DATA(text);
        kinds[i] = (uint8_t)PyUnicode_KIND(text);
        lens[i] = PyUnicode_GET_LENGTH(text);
    }
    return 0;
}
