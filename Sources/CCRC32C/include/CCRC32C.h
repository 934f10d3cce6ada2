#ifndef CAREERLOG_CCRC32C_H
#define CAREERLOG_CCRC32C_H

#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli), the checksum of the event log, the key store and
/// the dedupe snapshot (FORMAT.md). One implementation for every module:
/// the CPU's crc32 instruction where there is one (x86-64 with SSE4.2,
/// checked once at load; AArch64 built with the CRC extension), else
/// slicing-by-8 over tables.
///
/// Continues `crc` over `count` bytes; start with 0 for a fresh checksum:
/// update(update(0, a), b) == update(0, a + b).
uint32_t careerlog_crc32c_update(uint32_t crc, const void *bytes, size_t count);

/// The table-driven path alone (tests compare it with the hardware path).
uint32_t careerlog_crc32c_update_portable(uint32_t crc, const void *bytes, size_t count);

/// 1 when `careerlog_crc32c_update` uses the CPU's crc32 instruction.
int careerlog_crc32c_uses_hardware(void);

#endif
