// CRC-32C in C because Swift cannot emit the crc32 instruction, and no
// library we may use offers it (Debian 12 packages no libcrc32c; swift-crypto
// and swift-nio have none). The portable path is the slicing-by-8 the log
// used before; both paths are checked against each other and against the
// published check values (EventLogTests.testCRC32C*).
#include "CCRC32C.h"

#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif
#if defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>
#endif

/// The reflected Castagnoli polynomial.
#define POLYNOMIAL 0x82F63B78u

static uint32_t tables[8][256];
static int hardware;

__attribute__((constructor)) static void careerlog_crc32c_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t crc = i;
        for (int k = 0; k < 8; k++) crc = (crc & 1) ? (crc >> 1) ^ POLYNOMIAL : crc >> 1;
        tables[0][i] = crc;
    }
    for (int i = 0; i < 256; i++) {
        for (int k = 1; k < 8; k++) tables[k][i] = (tables[k - 1][i] >> 8) ^ tables[0][tables[k - 1][i] & 0xFF];
    }
#if defined(__x86_64__)
    __builtin_cpu_init();
    hardware = __builtin_cpu_supports("sse4.2");
#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
    hardware = 1;
#endif
}

uint32_t careerlog_crc32c_update_portable(uint32_t crc, const void *bytes, size_t count) {
    const uint8_t *p = bytes;
    uint32_t c = ~crc;
    while (count >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        word = __builtin_bswap64(word);
#endif
        word ^= c;
        c = tables[7][word & 0xFF] ^ tables[6][(word >> 8) & 0xFF] ^ tables[5][(word >> 16) & 0xFF]
            ^ tables[4][(word >> 24) & 0xFF] ^ tables[3][(word >> 32) & 0xFF] ^ tables[2][(word >> 40) & 0xFF]
            ^ tables[1][(word >> 48) & 0xFF] ^ tables[0][word >> 56];
        p += 8;
        count -= 8;
    }
    while (count > 0) {
        c = (c >> 8) ^ tables[0][(c ^ *p) & 0xFF];
        p++;
        count--;
    }
    return ~c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t update_hardware(uint32_t crc, const uint8_t *p, size_t count) {
    uint64_t c = ~crc;
    while (count >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = _mm_crc32_u64(c, word);
        p += 8;
        count -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (count > 0) {
        c32 = _mm_crc32_u8(c32, *p);
        p++;
        count--;
    }
    return ~c32;
}
#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
static uint32_t update_hardware(uint32_t crc, const uint8_t *p, size_t count) {
    uint32_t c = ~crc;
    while (count >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = __crc32cd(c, word);
        p += 8;
        count -= 8;
    }
    while (count > 0) {
        c = __crc32cb(c, *p);
        p++;
        count--;
    }
    return ~c;
}
#endif

uint32_t careerlog_crc32c_update(uint32_t crc, const void *bytes, size_t count) {
    if (count == 0) return crc;
#if defined(__x86_64__) || (defined(__aarch64__) && defined(__ARM_FEATURE_CRC32))
    if (hardware) return update_hardware(crc, bytes, count);
#endif
    return careerlog_crc32c_update_portable(crc, bytes, count);
}

int careerlog_crc32c_uses_hardware(void) { return hardware; }
