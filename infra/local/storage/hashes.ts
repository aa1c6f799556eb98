// The two checksums GCS keeps for every object, base64 as the JSON API gives
// them (`md5Hash`, `crc32c`, and `x-goog-hash` on downloads). The client
// checks the CRC32C after each upload and full download, so it must be right.
import { createHash } from 'node:crypto';

// CRC-32C (Castagnoli), reflected polynomial 0x82F63B78, one byte at a time.
const TABLE = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  TABLE[n] = c >>> 0;
}

export function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Big-endian, base64: what GCS puts in `crc32c`. */
export function crc32cBase64(data: Uint8Array): string {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(crc32c(data));
  return bytes.toString('base64');
}

export function md5Base64(data: Uint8Array): string {
  return createHash('md5').update(data).digest('base64');
}
