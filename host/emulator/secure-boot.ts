import { createPublicKey, verify } from 'node:crypto';
import { AGENT_MAGIC, IMAGE_HEADER_OFFSET, SIGNATURE_BLOCK_OFFSET, SIGNATURE_BLOCK_SIZE, decodeSignatureBlock } from '../protocol/link';

/**
 * Simulated secure boot (`--emu-trust`): a check that no STM32 ROM bootloader makes, standing in
 * for a terminal whose boot code runs only signed code. With trusted keys, Go into RAM is
 * refused unless the image there carries a signature block that verifies with one of them.
 *
 * The signature block (host/protocol/link.ts, encodeSignatureBlock) lies at the image's parameter
 * block address + 64 (after the 56-byte parameter block), little-endian:
 *   u32 magic 0x47535750 ("PWSG") | u32 signature length (64) | 64-byte Ed25519 signature
 * over the exact image bytes: [Go address, Go address + image size), the size from the image
 * header (offset 0x54).
 */
/** header fields read: image size and parameter block address (docs/agent.md, "Image layout") */
const HEADER_SIZE_AT = 0x54;
const HEADER_PARAMS_AT = 0x58;

/**
 * Why Go to `address` is refused under these trusted keys, or null when the image is signed by
 * one of them. `read` is the part's memory (null where nothing is mapped).
 */
export function secureBootRefusal(read: (address: number, length: number) => Uint8Array | null, address: number, trust: readonly string[]): string | null {
  const head = read(address, IMAGE_HEADER_OFFSET + 0x1c);
  if (!head) return 'no image header in RAM at the Go address';
  const h = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (h.getUint32(IMAGE_HEADER_OFFSET, true) !== AGENT_MAGIC) return 'no PWAG image header at the Go address';
  const size = h.getUint32(HEADER_SIZE_AT, true);
  const params = h.getUint32(HEADER_PARAMS_AT, true);
  const image = size > 0 ? read(address, size) : null;
  if (!image) return `image size ${size} runs outside RAM`;
  const block = read(params + SIGNATURE_BLOCK_OFFSET, SIGNATURE_BLOCK_SIZE);
  if (!block) return 'no signature block in RAM';
  const signature = decodeSignatureBlock(block);
  if (!signature) return 'image is not signed (no PWSG signature block)';
  for (const pem of trust) {
    if (verify(null, image, createPublicKey(pem), signature)) return null;
  }
  return 'image signature does not verify with a trusted key';
}
