/*
 * search_query - see search_query.h.
 *
 * q is decoded into code points first (so that every error can name a
 * character position and invalid UTF-8 never reaches the lexer), then cut
 * into tokens, then parsed by recursive descent into a tree that is
 * normalized so that a NOT is always beside something positive.
 */
#include "search_query.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Generated from SQLite 3.40's `unicode61 remove_diacritics 2` tokenizer
 * (each code point between two letters, read back through fts5vocab):
 * 0 separates words, 0xFFFF is dropped (a combining mark), anything else
 * is the folded code point. */
static const uint16_t fold_latin[0x250 - 0xA0] = {
    0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x00AA, 0x0000,
    0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x00B2, 0x00B3, 0x0000, 0x03BC, 0x0000, 0x0000,
    0x0000, 0x00B9, 0x00BA, 0x0000, 0x00BC, 0x00BD, 0x00BE, 0x0000, 0x0061, 0x0061, 0x0061, 0x0061,
    0x0061, 0x0061, 0x00E6, 0x0063, 0x0065, 0x0065, 0x0065, 0x0065, 0x0069, 0x0069, 0x0069, 0x0069,
    0x00F0, 0x006E, 0x006F, 0x006F, 0x006F, 0x006F, 0x006F, 0x0000, 0x00F8, 0x0075, 0x0075, 0x0075,
    0x0075, 0x0079, 0x00FE, 0x00DF, 0x0061, 0x0061, 0x0061, 0x0061, 0x0061, 0x0061, 0x00E6, 0x0063,
    0x0065, 0x0065, 0x0065, 0x0065, 0x0069, 0x0069, 0x0069, 0x0069, 0x00F0, 0x006E, 0x006F, 0x006F,
    0x006F, 0x006F, 0x006F, 0x0000, 0x00F8, 0x0075, 0x0075, 0x0075, 0x0075, 0x0079, 0x00FE, 0x0079,
    0x0061, 0x0061, 0x0061, 0x0061, 0x0061, 0x0061, 0x0063, 0x0063, 0x0063, 0x0063, 0x0063, 0x0063,
    0x0063, 0x0063, 0x0064, 0x0064, 0x0111, 0x0111, 0x0065, 0x0065, 0x0065, 0x0065, 0x0065, 0x0065,
    0x0065, 0x0065, 0x0065, 0x0065, 0x0067, 0x0067, 0x0067, 0x0067, 0x0067, 0x0067, 0x0067, 0x0067,
    0x0068, 0x0068, 0x0127, 0x0127, 0x0069, 0x0069, 0x0069, 0x0069, 0x0069, 0x0069, 0x0069, 0x0069,
    0x0069, 0x0131, 0x0133, 0x0133, 0x006A, 0x006A, 0x006B, 0x006B, 0x0138, 0x006C, 0x006C, 0x006C,
    0x006C, 0x006C, 0x006C, 0x0140, 0x0140, 0x0142, 0x0142, 0x006E, 0x006E, 0x006E, 0x006E, 0x006E,
    0x006E, 0x0149, 0x014B, 0x014B, 0x006F, 0x006F, 0x006F, 0x006F, 0x006F, 0x006F, 0x0153, 0x0153,
    0x0072, 0x0072, 0x0072, 0x0072, 0x0072, 0x0072, 0x0073, 0x0073, 0x0073, 0x0073, 0x0073, 0x0073,
    0x0073, 0x0073, 0x0074, 0x0074, 0x0074, 0x0074, 0x0167, 0x0167, 0x0075, 0x0075, 0x0075, 0x0075,
    0x0075, 0x0075, 0x0075, 0x0075, 0x0075, 0x0075, 0x0075, 0x0075, 0x0077, 0x0077, 0x0079, 0x0079,
    0x0079, 0x007A, 0x007A, 0x007A, 0x007A, 0x007A, 0x007A, 0x0073, 0x0180, 0x0253, 0x0183, 0x0183,
    0x0185, 0x0185, 0x0254, 0x0188, 0x0188, 0x0256, 0x0257, 0x018C, 0x018C, 0x018D, 0x01DD, 0x0259,
    0x025B, 0x0192, 0x0192, 0x0260, 0x0263, 0x0195, 0x0269, 0x0268, 0x0199, 0x0199, 0x019A, 0x019B,
    0x026F, 0x0272, 0x019E, 0x0275, 0x006F, 0x006F, 0x01A3, 0x01A3, 0x01A5, 0x01A5, 0x0280, 0x01A8,
    0x01A8, 0x0283, 0x01AA, 0x01AB, 0x01AD, 0x01AD, 0x0288, 0x0075, 0x0075, 0x028A, 0x028B, 0x01B4,
    0x01B4, 0x01B6, 0x01B6, 0x0292, 0x01B9, 0x01B9, 0x01BA, 0x01BB, 0x01BD, 0x01BD, 0x01BE, 0x01BF,
    0x01C0, 0x01C1, 0x01C2, 0x01C3, 0x01C6, 0x01C6, 0x01C6, 0x01C9, 0x01C9, 0x01C9, 0x01CC, 0x01CC,
    0x01CC, 0x0061, 0x0061, 0x0069, 0x0069, 0x006F, 0x006F, 0x0075, 0x0075, 0x0075, 0x0075, 0x0075,
    0x0075, 0x0075, 0x0075, 0x0075, 0x0075, 0x01DD, 0x0061, 0x0061, 0x01E1, 0x01E1, 0x01E3, 0x01E3,
    0x01E5, 0x01E5, 0x0067, 0x0067, 0x006B, 0x006B, 0x006F, 0x006F, 0x006F, 0x006F, 0x01EF, 0x01EF,
    0x006A, 0x01F3, 0x01F3, 0x01F3, 0x0067, 0x0067, 0x0195, 0x01BF, 0x006E, 0x006E, 0x0061, 0x0061,
    0x01FD, 0x01FD, 0x01FF, 0x01FF, 0x0061, 0x0061, 0x0061, 0x0061, 0x0065, 0x0065, 0x0065, 0x0065,
    0x0069, 0x0069, 0x0069, 0x0069, 0x006F, 0x006F, 0x006F, 0x006F, 0x0072, 0x0072, 0x0072, 0x0072,
    0x0075, 0x0075, 0x0075, 0x0075, 0x0073, 0x0073, 0x0074, 0x0074, 0x021D, 0x021D, 0x0068, 0x0068,
    0x019E, 0x0221, 0x0223, 0x0223, 0x0225, 0x0225, 0x0061, 0x0061, 0x0065, 0x0065, 0x006F, 0x006F,
    0x006F, 0x006F, 0x006F, 0x006F, 0x006F, 0x006F, 0x0079, 0x0079, 0x0234, 0x0235, 0x0236, 0x0237,
    0x0238, 0x0239, 0x2C65, 0x023C, 0x023C, 0x019A, 0x2C66, 0x023F, 0x0240, 0x0242, 0x0242, 0x0180,
    0x0289, 0x028C, 0x0247, 0x0247, 0x0249, 0x0249, 0x024B, 0x024B, 0x024D, 0x024D, 0x024F, 0x024F,
};
static const uint16_t fold_greek_cyrillic[0x530 - 0x370] = {
    0x0371, 0x0371, 0x0373, 0x0373, 0x0374, 0x0000, 0x0377, 0x0377, 0x0378, 0x0379, 0x037A, 0x037B,
    0x037C, 0x037D, 0x0000, 0x037F, 0x0380, 0x0381, 0x0382, 0x0383, 0x0000, 0x0000, 0x03AC, 0x0000,
    0x03AD, 0x03AE, 0x03AF, 0x038B, 0x03CC, 0x038D, 0x03CD, 0x03CE, 0x0390, 0x03B1, 0x03B2, 0x03B3,
    0x03B4, 0x03B5, 0x03B6, 0x03B7, 0x03B8, 0x03B9, 0x03BA, 0x03BB, 0x03BC, 0x03BD, 0x03BE, 0x03BF,
    0x03C0, 0x03C1, 0x03A2, 0x03C3, 0x03C4, 0x03C5, 0x03C6, 0x03C7, 0x03C8, 0x03C9, 0x03CA, 0x03CB,
    0x03AC, 0x03AD, 0x03AE, 0x03AF, 0x03B0, 0x03B1, 0x03B2, 0x03B3, 0x03B4, 0x03B5, 0x03B6, 0x03B7,
    0x03B8, 0x03B9, 0x03BA, 0x03BB, 0x03BC, 0x03BD, 0x03BE, 0x03BF, 0x03C0, 0x03C1, 0x03C3, 0x03C3,
    0x03C4, 0x03C5, 0x03C6, 0x03C7, 0x03C8, 0x03C9, 0x03CA, 0x03CB, 0x03CC, 0x03CD, 0x03CE, 0x03D7,
    0x03B2, 0x03B8, 0x03D2, 0x03D3, 0x03D4, 0x03C6, 0x03C0, 0x03D7, 0x03D9, 0x03D9, 0x03DB, 0x03DB,
    0x03DD, 0x03DD, 0x03DF, 0x03DF, 0x03E1, 0x03E1, 0x03E3, 0x03E3, 0x03E5, 0x03E5, 0x03E7, 0x03E7,
    0x03E9, 0x03E9, 0x03EB, 0x03EB, 0x03ED, 0x03ED, 0x03EF, 0x03EF, 0x03BA, 0x03C1, 0x03F2, 0x03F3,
    0x03B8, 0x03B5, 0x0000, 0x03F8, 0x03F8, 0x03F2, 0x03FB, 0x03FB, 0x03FC, 0x037B, 0x037C, 0x037D,
    0x0450, 0x0451, 0x0452, 0x0453, 0x0454, 0x0455, 0x0456, 0x0457, 0x0458, 0x0459, 0x045A, 0x045B,
    0x045C, 0x045D, 0x045E, 0x045F, 0x0430, 0x0431, 0x0432, 0x0433, 0x0434, 0x0435, 0x0436, 0x0437,
    0x0438, 0x0439, 0x043A, 0x043B, 0x043C, 0x043D, 0x043E, 0x043F, 0x0440, 0x0441, 0x0442, 0x0443,
    0x0444, 0x0445, 0x0446, 0x0447, 0x0448, 0x0449, 0x044A, 0x044B, 0x044C, 0x044D, 0x044E, 0x044F,
    0x0430, 0x0431, 0x0432, 0x0433, 0x0434, 0x0435, 0x0436, 0x0437, 0x0438, 0x0439, 0x043A, 0x043B,
    0x043C, 0x043D, 0x043E, 0x043F, 0x0440, 0x0441, 0x0442, 0x0443, 0x0444, 0x0445, 0x0446, 0x0447,
    0x0448, 0x0449, 0x044A, 0x044B, 0x044C, 0x044D, 0x044E, 0x044F, 0x0450, 0x0451, 0x0452, 0x0453,
    0x0454, 0x0455, 0x0456, 0x0457, 0x0458, 0x0459, 0x045A, 0x045B, 0x045C, 0x045D, 0x045E, 0x045F,
    0x0461, 0x0461, 0x0463, 0x0463, 0x0465, 0x0465, 0x0467, 0x0467, 0x0469, 0x0469, 0x046B, 0x046B,
    0x046D, 0x046D, 0x046F, 0x046F, 0x0471, 0x0471, 0x0473, 0x0473, 0x0475, 0x0475, 0x0477, 0x0477,
    0x0479, 0x0479, 0x047B, 0x047B, 0x047D, 0x047D, 0x047F, 0x047F, 0x0481, 0x0481, 0x0000, 0x0000,
    0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x048B, 0x048B, 0x048D, 0x048D, 0x048F, 0x048F,
    0x0491, 0x0491, 0x0493, 0x0493, 0x0495, 0x0495, 0x0497, 0x0497, 0x0499, 0x0499, 0x049B, 0x049B,
    0x049D, 0x049D, 0x049F, 0x049F, 0x04A1, 0x04A1, 0x04A3, 0x04A3, 0x04A5, 0x04A5, 0x04A7, 0x04A7,
    0x04A9, 0x04A9, 0x04AB, 0x04AB, 0x04AD, 0x04AD, 0x04AF, 0x04AF, 0x04B1, 0x04B1, 0x04B3, 0x04B3,
    0x04B5, 0x04B5, 0x04B7, 0x04B7, 0x04B9, 0x04B9, 0x04BB, 0x04BB, 0x04BD, 0x04BD, 0x04BF, 0x04BF,
    0x04CF, 0x04C2, 0x04C2, 0x04C4, 0x04C4, 0x04C6, 0x04C6, 0x04C8, 0x04C8, 0x04CA, 0x04CA, 0x04CC,
    0x04CC, 0x04CE, 0x04CE, 0x04CF, 0x04D1, 0x04D1, 0x04D3, 0x04D3, 0x04D5, 0x04D5, 0x04D7, 0x04D7,
    0x04D9, 0x04D9, 0x04DB, 0x04DB, 0x04DD, 0x04DD, 0x04DF, 0x04DF, 0x04E1, 0x04E1, 0x04E3, 0x04E3,
    0x04E5, 0x04E5, 0x04E7, 0x04E7, 0x04E9, 0x04E9, 0x04EB, 0x04EB, 0x04ED, 0x04ED, 0x04EF, 0x04EF,
    0x04F1, 0x04F1, 0x04F3, 0x04F3, 0x04F5, 0x04F5, 0x04F7, 0x04F7, 0x04F9, 0x04F9, 0x04FB, 0x04FB,
    0x04FD, 0x04FD, 0x04FF, 0x04FF, 0x0501, 0x0501, 0x0503, 0x0503, 0x0505, 0x0505, 0x0507, 0x0507,
    0x0509, 0x0509, 0x050B, 0x050B, 0x050D, 0x050D, 0x050F, 0x050F, 0x0511, 0x0511, 0x0513, 0x0513,
    0x0515, 0x0515, 0x0517, 0x0517, 0x0519, 0x0519, 0x051B, 0x051B, 0x051D, 0x051D, 0x051F, 0x051F,
    0x0521, 0x0521, 0x0523, 0x0523, 0x0525, 0x0525, 0x0527, 0x0527, 0x0528, 0x0529, 0x052A, 0x052B,
    0x052C, 0x052D, 0x052E, 0x052F,
};

enum fold_kind { FOLD_SEPARATOR, FOLD_KEEP, FOLD_DROP };

static enum fold_kind fold_cp(uint32_t cp, uint32_t *out)
{
    *out = cp;
    if (cp < 0x80) {
        if (cp >= 'A' && cp <= 'Z') {
            *out = cp + ('a' - 'A');
            return FOLD_KEEP;
        }
        if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9'))
            return FOLD_KEEP;
        return FOLD_SEPARATOR;
    }
    if (cp < 0xA0)
        return FOLD_SEPARATOR; /* C1 controls */
    uint16_t v = 0;
    if (cp < 0x250)
        v = fold_latin[cp - 0xA0];
    else if (cp >= 0x370 && cp < 0x530)
        v = fold_greek_cyrillic[cp - 0x370];
    else if (cp >= 0x300 && cp < 0x370)
        return FOLD_DROP;
    else if ((cp >= 0x2000 && cp < 0x2C00) || (cp >= 0x3000 && cp < 0x3040) ||
             (cp >= 0xFE30 && cp < 0xFE50) || (cp >= 0xFF00 && cp < 0xFF10) ||
             (cp >= 0xFF1A && cp < 0xFF21) || (cp >= 0x1F000 && cp < 0x1FB00) ||
             (cp >= 0xD800 && cp < 0xE000))
        return FOLD_SEPARATOR;
    else
        return FOLD_KEEP;
    if (v == 0)
        return FOLD_SEPARATOR;
    if (v == 0xFFFF)
        return FOLD_DROP;
    *out = v;
    return FOLD_KEEP;
}

/* Decodes one UTF-8 sequence at s[*i]; returns -1 on malformed, overlong,
 * surrogate or out-of-range input. */
static int utf8_next(const unsigned char *s, size_t len, size_t *i, uint32_t *cp)
{
    unsigned char c = s[*i];
    size_t n;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        (*i)++;
        return 0;
    } else if ((c & 0xE0) == 0xC0) {
        n = 1, v = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        n = 2, v = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        n = 3, v = c & 0x07, min = 0x10000;
    } else {
        return -1;
    }
    if (*i + n >= len)
        return -1;
    for (size_t k = 1; k <= n; k++) {
        unsigned char cc = s[*i + k];
        if ((cc & 0xC0) != 0x80)
            return -1;
        v = (v << 6) | (cc & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v < 0xE000))
        return -1;
    *cp = v;
    *i += n + 1;
    return 0;
}

static size_t utf8_put(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Folds cps[0..n) into words; out needs at most 4 * n + 1 bytes to hold
 * everything.  Returns the number of words written. */
static int fold_cps(const uint32_t *cps, size_t n, char *out, size_t out_size)
{
    size_t used = 0, word_start = 0;
    int words = 0;
    bool in_word = false;
    if (out_size == 0)
        return 0;
    for (size_t i = 0; i <= n; i++) {
        uint32_t f = 0;
        enum fold_kind kind = i < n ? fold_cp(cps[i], &f) : FOLD_SEPARATOR;
        if (kind == FOLD_DROP)
            continue;
        if (kind == FOLD_SEPARATOR) {
            if (in_word)
                words++;
            in_word = false;
            continue;
        }
        char enc[4];
        size_t enc_len = utf8_put(f, enc);
        size_t need = (!in_word && words > 0 ? 1 : 0) + enc_len;
        if (used + need >= out_size) {
            /* Drop the word that does not fit, and stop. */
            used = in_word ? word_start : used;
            in_word = false;
            break;
        }
        if (!in_word) {
            word_start = used;
            if (words > 0)
                out[used++] = ' ';
            in_word = true;
        }
        memcpy(out + used, enc, enc_len);
        used += enc_len;
    }
    if (in_word)
        words++;
    out[used] = '\0';
    return words;
}

/* Decodes text into a new array of code points (caller frees).  Returns
 * -1 with *bad set to the 0-based character index of the first invalid
 * sequence or NUL byte (*nul tells which), -2 when out of memory. */
static int decode(const char *text, size_t len, uint32_t **out, size_t *n_out, size_t *bad,
                  bool *nul)
{
    const unsigned char *s = (const unsigned char *)text;
    uint32_t *cps = malloc((len + 1) * sizeof *cps);
    size_t n = 0, i = 0;
    if (cps == NULL)
        return -2;
    while (i < len) {
        if (s[i] == 0 || utf8_next(s, len, &i, &cps[n]) != 0) {
            *bad = n;
            *nul = s[i] == 0;
            free(cps);
            return -1;
        }
        n++;
    }
    *out = cps;
    *n_out = n;
    return 0;
}

int search_fold_words(const char *text, size_t len, char *out, size_t out_size)
{
    uint32_t *cps = NULL;
    size_t n = 0, bad = 0;
    bool nul = false;
    if (decode(text, len, &cps, &n, &bad, &nul) != 0)
        return -1;
    int words = fold_cps(cps, n, out, out_size);
    free(cps);
    return words;
}

/* ---- lexer ---- */

enum tok_type { T_EOF, T_WORD, T_PHRASE, T_LPAREN, T_RPAREN, T_OR, T_AND, T_NOT, T_FIELD };

struct tok {
    enum tok_type type;
    size_t pos;        /* 1-based character position */
    size_t start, end; /* WORD, PHRASE: the text, as indexes into cps */
    bool prefix;
    const char *field; /* FIELD */
};

static const char *const known_fields[] = {"title", "org", "key", "subject"};

static bool is_space(uint32_t c)
{
    return c <= 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200B) ||
           c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000 || c == 0xFEFF;
}

static bool ends_bare(uint32_t c)
{
    return is_space(c) || c == '(' || c == ')' || c == '"';
}

static bool bare_is(const uint32_t *cps, size_t start, size_t end, const char *word)
{
    size_t len = strlen(word);
    if (end - start != len)
        return false;
    for (size_t k = 0; k < len; k++)
        if (cps[start + k] != (unsigned char)word[k])
            return false;
    return true;
}

/* A known field name followed by ':' at cps[start..), or NULL. */
static const char *field_at(const uint32_t *cps, size_t start, size_t end, size_t *colon)
{
    size_t k = start;
    char name[16];
    size_t n = 0;
    while (k < end && n < sizeof name - 1 &&
           ((cps[k] >= 'a' && cps[k] <= 'z') || (cps[k] >= 'A' && cps[k] <= 'Z')))
        name[n++] = (char)(cps[k++] | 0x20);
    name[n] = '\0';
    if (n == 0 || k >= end || cps[k] != ':')
        return NULL;
    for (size_t f = 0; f < sizeof known_fields / sizeof known_fields[0]; f++)
        if (strcmp(name, known_fields[f]) == 0) {
            *colon = k;
            return known_fields[f];
        }
    return NULL;
}

static int lex(const uint32_t *cps, size_t n, struct tok *toks, size_t *n_toks, struct error *err)
{
    size_t i = 0, t = 0;
    while (i < n) {
        uint32_t c = cps[i];
        struct tok tok = {.pos = i + 1};
        if (is_space(c)) {
            i++;
            continue;
        }
        if (c == '(' || c == ')') {
            tok.type = c == '(' ? T_LPAREN : T_RPAREN;
            i++;
        } else if (c == '"') {
            size_t j = i + 1;
            while (j < n && cps[j] != '"')
                j++;
            if (j >= n)
                return error_set_field(err, ERR_INVALID, "q", "unterminated quote at position %zu",
                                       i + 1);
            tok.type = T_PHRASE;
            tok.start = i + 1;
            tok.end = j;
            i = j + 1;
            if (i < n && cps[i] == '*') {
                tok.prefix = true;
                i++;
            }
        } else if (c == '-' && i + 1 < n && !is_space(cps[i + 1]) && cps[i + 1] != ')') {
            tok.type = T_NOT;
            i++;
        } else {
            size_t j = i, colon = 0;
            while (j < n && !ends_bare(cps[j]))
                j++;
            const char *field = field_at(cps, i, j, &colon);
            if (bare_is(cps, i, j, "OR")) {
                tok.type = T_OR;
            } else if (bare_is(cps, i, j, "AND")) {
                tok.type = T_AND;
            } else if (bare_is(cps, i, j, "NOT")) {
                tok.type = T_NOT;
            } else if (field != NULL) {
                if (colon + 1 >= n || is_space(cps[colon + 1]) || cps[colon + 1] == ')')
                    return error_set_field(err, ERR_INVALID, "q",
                                           "%s: at position %zu needs a value", field, i + 1);
                tok.type = T_FIELD;
                tok.field = field;
                j = colon + 1;
            } else {
                tok.type = T_WORD;
                tok.start = i;
                tok.end = j;
                while (tok.end > tok.start && cps[tok.end - 1] == '*') {
                    tok.end--;
                    tok.prefix = true;
                }
            }
            i = j;
        }
        toks[t++] = tok;
    }
    toks[t].type = T_EOF;
    toks[t].pos = n + 1;
    *n_toks = t;
    return 0;
}

/* ---- tree ---- */

void search_query_free(struct search_node *node)
{
    if (node == NULL)
        return;
    for (size_t i = 0; i < node->n_children; i++)
        search_query_free(node->children[i]);
    free(node->children);
    free(node->text);
    free(node);
}

static struct search_node *node_of(enum search_node_type type)
{
    struct search_node *node = calloc(1, sizeof *node);
    if (node != NULL)
        node->type = type;
    return node;
}

static int node_add(struct search_node *parent, struct search_node *child)
{
    struct search_node **grown =
        realloc(parent->children, (parent->n_children + 1) * sizeof *grown);
    if (grown == NULL)
        return -1;
    parent->children = grown;
    parent->children[parent->n_children++] = child;
    return 0;
}

/* ---- parser ---- */

struct parser {
    const uint32_t *cps;
    const struct tok *toks;
    size_t at;
    size_t terms;
    struct error *err;
};

static const struct tok *peek(const struct parser *p)
{
    return &p->toks[p->at];
}

static int oom(struct parser *p)
{
    return error_set(p->err, ERR_INTERNAL, "out of memory parsing q");
}

/* A WORD or PHRASE token as a TERM or PHRASE node; *out is NULL when the
 * text holds no word at all ("!!!"). */
static int make_text(struct parser *p, const struct tok *tok, const char *field,
                     struct search_node **out)
{
    size_t len = tok->end - tok->start;
    char *text = malloc(4 * len + 1);
    *out = NULL;
    if (text == NULL)
        return oom(p);
    int words = fold_cps(p->cps + tok->start, len, text, 4 * len + 1);
    if (words == 0) {
        free(text);
        return 0;
    }
    if (++p->terms > SEARCH_QUERY_MAX_TERMS) {
        free(text);
        return error_set_field(p->err, ERR_INVALID, "q",
                               "too many words at position %zu (at most %d in one query)", tok->pos,
                               SEARCH_QUERY_MAX_TERMS);
    }
    struct search_node *node = node_of(words == 1 ? SEARCH_TERM : SEARCH_PHRASE);
    if (node == NULL) {
        free(text);
        return oom(p);
    }
    node->text = text;
    node->field = field;
    node->prefix = tok->prefix;
    *out = node;
    return 0;
}

static int parse_seq(struct parser *p, size_t depth, const char *field, struct search_node **out);

static int parse_unary(struct parser *p, size_t depth, const char *field, struct search_node **out);

static int parse_primary(struct parser *p, size_t depth, const char *field,
                         struct search_node **out)
{
    const struct tok *tok = peek(p);
    *out = NULL;
    switch (tok->type) {
    case T_LPAREN: {
        if (depth >= SEARCH_QUERY_MAX_DEPTH)
            return error_set_field(p->err, ERR_INVALID, "q",
                                   "parentheses nested deeper than %d at position %zu",
                                   SEARCH_QUERY_MAX_DEPTH, tok->pos);
        p->at++;
        if (parse_seq(p, depth + 1, field, out) != 0)
            return -1;
        if (peek(p)->type != T_RPAREN) {
            search_query_free(*out);
            *out = NULL;
            return error_set_field(p->err, ERR_INVALID, "q", "unbalanced '(' at position %zu",
                                   tok->pos);
        }
        p->at++;
        return 0;
    }
    case T_WORD:
    case T_PHRASE:
        p->at++;
        return make_text(p, tok, field, out);
    default:
        return 0; /* the caller says what was missing */
    }
}

static int parse_unary(struct parser *p, size_t depth, const char *field, struct search_node **out)
{
    const struct tok *tok = peek(p);
    *out = NULL;
    if (tok->type == T_NOT) {
        p->at++;
        enum tok_type next = peek(p)->type;
        if (next == T_EOF || next == T_RPAREN || next == T_OR || next == T_AND)
            return error_set_field(p->err, ERR_INVALID, "q",
                                   "negation at position %zu needs a term after it", tok->pos);
        struct search_node *child = NULL;
        if (parse_unary(p, depth, field, &child) != 0)
            return -1;
        if (child == NULL)
            return 0;
        if (child->type == SEARCH_NOT) { /* --x is x */
            *out = child->children[0];
            child->n_children = 0;
            search_query_free(child);
            return 0;
        }
        struct search_node *not = node_of(SEARCH_NOT);
        if (not == NULL || node_add(not, child) != 0) {
            free(not );
            search_query_free(child);
            return oom(p);
        }
        *out = not ;
        return 0;
    }
    if (tok->type == T_FIELD) {
        p->at++;
        enum tok_type next = peek(p)->type;
        if (next != T_WORD && next != T_PHRASE && next != T_LPAREN && next != T_NOT)
            return error_set_field(p->err, ERR_INVALID, "q", "%s: at position %zu needs a value",
                                   tok->field, tok->pos);
        return parse_unary(p, depth, tok->field, out);
    }
    return parse_primary(p, depth, field, out);
}

static int parse_or(struct parser *p, size_t depth, const char *field, struct search_node **out)
{
    struct search_node *left = NULL;
    *out = NULL;
    if (parse_unary(p, depth, field, &left) != 0)
        return -1;
    while (peek(p)->type == T_OR) {
        size_t pos = peek(p)->pos;
        struct search_node *right = NULL;
        p->at++;
        if (parse_unary(p, depth, field, &right) != 0) {
            search_query_free(left);
            return -1;
        }
        if (left == NULL || right == NULL) {
            search_query_free(left);
            search_query_free(right);
            return error_set_field(p->err, ERR_INVALID, "q",
                                   "OR at position %zu needs a term on each side", pos);
        }
        if (left->type != SEARCH_OR) {
            struct search_node * or = node_of(SEARCH_OR);
            if (or == NULL || node_add(or, left) != 0) {
                free(or);
                search_query_free(left);
                search_query_free(right);
                return oom(p);
            }
            left = or ;
        }
        if (node_add(left, right) != 0) {
            search_query_free(left);
            search_query_free(right);
            return oom(p);
        }
    }
    *out = left;
    return 0;
}

static int parse_seq(struct parser *p, size_t depth, const char *field, struct search_node **out)
{
    struct search_node *and = NULL, *first = NULL;
    *out = NULL;
    for (;;) {
        const struct tok *tok = peek(p);
        if (tok->type == T_EOF || tok->type == T_RPAREN)
            break;
        if (tok->type == T_AND) {
            enum tok_type next = p->toks[p->at + 1].type;
            if ((first == NULL && and == NULL) || next == T_EOF || next == T_RPAREN ||
                next == T_OR || next == T_AND) {
                search_query_free(and? and : first);
                return error_set_field(p->err, ERR_INVALID, "q",
                                       "AND at position %zu needs a term on each side", tok->pos);
            }
            p->at++;
            continue;
        }
        struct search_node *node = NULL;
        if (parse_or(p, depth, field, &node) != 0) {
            search_query_free(and? and : first);
            return -1;
        }
        if (node == NULL)
            continue;
        if (first == NULL) {
            first = node;
            continue;
        }
        if (and == NULL) {
            and = node_of(SEARCH_AND);
            if (and == NULL || node_add(and, first) != 0) {
                free(and);
                search_query_free(first);
                search_query_free(node);
                return oom(p);
            }
        }
        if (node_add(and, node) != 0) {
            search_query_free(and);
            search_query_free(node);
            return oom(p);
        }
    }
    *out = and? and : first;
    return 0;
}

/* ---- normalization ---- */

static bool is_positive(const struct search_node *node)
{
    return node->type != SEARCH_NOT && node->type != SEARCH_ALL;
}

/* Makes nested ANDs and ORs flat and gives every NOT a positive sibling
 * (an ALL when nothing else), so that drivers only ever see "this and not
 * that".  Returns the node to use in place of node, or NULL (out of
 * memory; node has been freed). */
static struct search_node *normalize(struct search_node *node, bool under_and)
{
    if (node->type == SEARCH_AND || node->type == SEARCH_OR) {
        struct search_node **kids = node->children;
        size_t n = node->n_children;
        node->children = NULL;
        node->n_children = 0;
        bool failed = false;
        for (size_t i = 0; i < n; i++) {
            struct search_node *c = failed ? NULL : normalize(kids[i], node->type == SEARCH_AND);
            if (failed) {
                search_query_free(kids[i]);
                continue;
            }
            if (c == NULL) {
                failed = true;
                continue;
            }
            if (c->type == node->type) {
                for (size_t k = 0; k < c->n_children && !failed; k++)
                    if (node_add(node, c->children[k]) != 0)
                        failed = true;
                c->n_children = failed ? c->n_children : 0;
                search_query_free(c);
            } else if (node_add(node, c) != 0) {
                search_query_free(c);
                failed = true;
            }
        }
        free(kids);
        if (failed) {
            search_query_free(node);
            return NULL;
        }
        if (node->type == SEARCH_AND) {
            /* Keep one ALL only when nothing positive is left beside it. */
            bool positive = false;
            size_t w = 0;
            for (size_t i = 0; i < node->n_children; i++)
                positive |= is_positive(node->children[i]);
            for (size_t i = 0; i < node->n_children; i++) {
                if (node->children[i]->type == SEARCH_ALL && positive)
                    search_query_free(node->children[i]);
                else
                    node->children[w++] = node->children[i];
            }
            node->n_children = w;
            bool has_all = false;
            for (size_t i = 0; i < w; i++)
                has_all |= node->children[i]->type == SEARCH_ALL;
            if (!positive && !has_all) {
                struct search_node *all = node_of(SEARCH_ALL);
                if (all == NULL || node_add(node, all) != 0) {
                    free(all);
                    search_query_free(node);
                    return NULL;
                }
                /* ALL first reads better in formatted trees. */
                memmove(node->children + 1, node->children,
                        (node->n_children - 1) * sizeof *node->children);
                node->children[0] = all;
            }
        }
        return node;
    }
    if (node->type == SEARCH_NOT) {
        struct search_node *c = normalize(node->children[0], false);
        if (c == NULL) {
            node->n_children = 0;
            search_query_free(node);
            return NULL;
        }
        node->children[0] = c;
        if (under_and)
            return node;
        struct search_node *and = node_of(SEARCH_AND), *all = node_of(SEARCH_ALL);
        if (and == NULL || all == NULL || node_add(and, all) != 0) {
            free(and);
            free(all);
            search_query_free(node);
            return NULL;
        }
        if (node_add(and, node) != 0) {
            search_query_free(and);
            search_query_free(node);
            return NULL;
        }
        return and;
    }
    return node;
}

int search_query_parse(const char *q, size_t len, struct search_node **out, struct error *err)
{
    uint32_t *cps = NULL;
    size_t n = 0, bad = 0;
    *out = NULL;
    if (len > SEARCH_QUERY_MAX_BYTES)
        return error_set_field(err, ERR_INVALID, "q",
                               "query is %zu bytes long, at most %d are allowed", len,
                               SEARCH_QUERY_MAX_BYTES);
    bool nul = false;
    int rc = decode(q, len, &cps, &n, &bad, &nul);
    if (rc == -2)
        return error_set(err, ERR_INTERNAL, "out of memory parsing q");
    if (rc != 0)
        return error_set_field(err, ERR_INVALID, "q", "%s at position %zu",
                               nul ? "NUL byte" : "invalid UTF-8", bad + 1);
    struct tok *toks = malloc((n + 1) * sizeof *toks);
    size_t n_toks = 0;
    if (toks == NULL) {
        free(cps);
        return error_set(err, ERR_INTERNAL, "out of memory parsing q");
    }
    struct search_node *root = NULL;
    struct parser p = {.cps = cps, .toks = toks, .err = err};
    rc = lex(cps, n, toks, &n_toks, err);
    if (rc == 0)
        rc = parse_seq(&p, 0, NULL, &root);
    if (rc == 0 && peek(&p)->type == T_RPAREN) {
        rc =
            error_set_field(err, ERR_INVALID, "q", "unbalanced ')' at position %zu", peek(&p)->pos);
    } else if (rc == 0 && root == NULL) {
        rc = error_set_field(err, ERR_INVALID, "q",
                             "no word to search for at position %zu (q has no letters or digits)",
                             (size_t)1);
    }
    if (rc != 0) {
        search_query_free(root);
        root = NULL;
    }
    free(toks);
    free(cps);
    if (rc != 0)
        return -1;
    root = normalize(root, false);
    if (root == NULL)
        return error_set(err, ERR_INTERNAL, "out of memory parsing q");
    *out = root;
    return 0;
}

/* ---- formatting ---- */

struct sbuf {
    char *buf;
    size_t size, used;
};

static void put(struct sbuf *b, const char *s)
{
    size_t len = strlen(s);
    if (b->size == 0)
        return;
    if (b->used + len >= b->size)
        len = b->size - 1 - b->used;
    memcpy(b->buf + b->used, s, len);
    b->used += len;
    b->buf[b->used] = '\0';
}

static void format(struct sbuf *b, const struct search_node *node)
{
    static const char *const names[] = {
        [SEARCH_AND] = "AND", [SEARCH_OR] = "OR", [SEARCH_NOT] = "NOT"};
    switch (node->type) {
    case SEARCH_TERM:
    case SEARCH_PHRASE:
        if (node->field) {
            put(b, node->field);
            put(b, ":");
        }
        put(b, node->type == SEARCH_PHRASE ? "\"" : "");
        put(b, node->text);
        put(b, node->type == SEARCH_PHRASE ? "\"" : "");
        put(b, node->prefix ? "*" : "");
        return;
    case SEARCH_ALL:
        put(b, "ALL");
        return;
    default:
        put(b, names[node->type]);
        put(b, "(");
        for (size_t i = 0; i < node->n_children; i++) {
            put(b, i ? ", " : "");
            format(b, node->children[i]);
        }
        put(b, ")");
    }
}

void search_query_format(const struct search_node *node, char *buf, size_t size)
{
    struct sbuf b = {buf, size, 0};
    if (size > 0)
        buf[0] = '\0';
    if (node != NULL)
        format(&b, node);
}
