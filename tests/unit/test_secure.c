/* test_secure.c - chopin_secure_equal gives memcmp's answer for equal and
 * unequal strings of every length relation, NULL with length 0 included. */
#include <criterion/criterion.h>

#include <chopin.h>

Test(secure, equal_matches_memcmp) {
    const char *pairs[][2] = {
        {"", ""},          {"a", "a"},        {"a", "b"},           {"token", "token"},
        {"token", "toke"}, {"toke", "token"}, {"token", "tokem"},   {"xoken", "token"},
        {"abc", ""},       {"", "abc"},       {"abc\0d", "abc\0e"},
    };
    size_t lens[][2] = {{0, 0}, {1, 1}, {1, 1}, {5, 5}, {5, 4}, {4, 5},
                        {5, 5}, {5, 5}, {3, 0}, {0, 3}, {5, 5}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        bool want = lens[i][0] == lens[i][1] && !memcmp(pairs[i][0], pairs[i][1], lens[i][0]);
        cr_expect_eq(chopin_secure_equal(pairs[i][0], lens[i][0], pairs[i][1], lens[i][1]), want,
                     "row %zu", i);
    }
    cr_expect(chopin_secure_equal(NULL, 0, NULL, 0));
    cr_expect(!chopin_secure_equal("a", 1, NULL, 0));
}

Test(secure, every_single_bit_difference_counts) {
    unsigned char a[64], b[64];
    for (size_t i = 0; i < sizeof a; i++) a[i] = (unsigned char)(i * 37 + 11);
    for (size_t i = 0; i < sizeof a; i++)
        for (int bit = 0; bit < 8; bit++) {
            memcpy(b, a, sizeof a);
            b[i] ^= (unsigned char)(1u << bit);
            cr_expect(!chopin_secure_equal(a, sizeof a, b, sizeof b), "byte %zu bit %d", i, bit);
        }
    cr_expect(chopin_secure_equal(a, sizeof a, a, sizeof a));
}
