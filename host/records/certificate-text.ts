/**
 * Every sentence a certificate (and its failure report's PDF) can print, with the condition under
 * which it does: one table, so that docs/records.md can list them and a test can hold the two
 * together. Templates name their variable parts `{like this}`; `say` fills them in.
 */

export interface Sentence {
  text: string;
  when: string;
}

export const SENTENCES = {
  basis: { text: 'NIST SP 800-88 Rev. 1, Appendix G (sample certificate of sanitization)', when: 'always' },
  serialNumberSource: { text: '96-bit unique device ID read through the bootloader', when: 'always' },
  mediaType: {
    text: "internal NOR flash of the terminal's microcontroller, {kib} KiB at {base} (no translation layer: every cell is addressable)",
    when: 'always; {kib} is the size found (outcome.flashSize.found)',
  },
  methodUsedUnlock: { text: 'mass erase (Readout Unprotect) + blank check', when: "outcome.unlocked: the method's passes did not run" },
  methodUsedOverwrite: {
    text: 'overwrite and block erase',
    when: 'not unlocked, and a pattern pass over the planned flash ran (outcome.passes has a program pass other than zeroize-keys)',
  },
  methodUsedErase: { text: 'block erase', when: 'not unlocked, and only erase passes ran over the planned flash' },
  methodDetailsUnlock: {
    text:
      'the terminal was read-protected: Readout Unprotect made the part mass-erase its whole flash, then ' +
      'every planned block was blank-checked; the passes of the requested method ({method}) did not run',
    when: "outcome.unlocked (otherwise methodDetails is the method's own description, METHOD_SPECS[method].description)",
  },
  readoutUnprotect: {
    text: 'the terminal was read-protected; Readout Unprotect made the part mass-erase itself, then every block was checked',
    when: 'outcome.unlocked (else null)',
  },
  keysZeroized: {
    text: 'the key store was programmed to 0x00 and checked ({check}) before any other pass; it was never backed up',
    when: 'the board declares a key store and the zeroize-keys pass ran',
  },
  keysMassErased: {
    text: 'the key store went with the mass erase (Readout Unprotect) and was blank-checked with the rest of the flash; it was never backed up',
    when: 'the board declares a key store and outcome.unlocked',
  },
  keysNone: { text: 'the board declares no key store', when: 'the board declares no key store' },
  digestAgent: {
    text:
      'SHA-256(nonce || block address, 4 bytes little-endian || block bytes), computed on the terminal by ' +
      "the engine and compared with the host's own computation of the expected contents",
    when: "outcome.verification is 'agent-digest' (the agent ran)",
  },
  digestChecksum: {
    text:
      "the ROM bootloader's Get Checksum (0xA1) CRC-32 of each block, compared with the host's CRC-32 of " +
      'the expected contents; no code of poswipe ran on the terminal',
    when: "outcome.verification is 'get-checksum' (bootloader-only part whose bootloader has Get Checksum)",
  },
  digestReadBack: {
    text:
      'each block read twice through the ROM bootloader (Read Memory), the two reads agreeing, and ' +
      'compared on the host with the expected contents; the digest is SHA-256(nonce || block address, 4 ' +
      'bytes little-endian || bytes read), computed on the host; no code of poswipe ran on the terminal',
    when: "outcome.verification is 'read-back' (bootloader-only part without Get Checksum)",
  },
  witnessOk: {
    text:
      '{chunks} chunks of {chunkBytes} bytes read through the ROM bootloader (Read Memory) after the agent ' +
      'finished, at addresses drawn from a fresh random seed: all as expected',
    when: 'outcome.witness is present and ok',
  },
  witnessFailed: {
    text: '{mismatches} of {chunks} chunks of {chunkBytes} bytes read through the ROM bootloader (Read Memory) did not hold what they must',
    when: 'outcome.witness is present and not ok (a failure report only: such a run is never certified)',
  },
  witnessNone: { text: 'no ROM witness ran', when: 'outcome.witness is null or absent' },
  engineManifest: {
    text: 'the engine module and agent binary shipped with this version of poswipe (agent/manifest.json)',
    when: "outcome.engine.source is 'manifest'",
  },
  engineSignedImage: { text: 'the engine module and agent binary inside a signed image the bench trusts', when: "outcome.engine.source is 'signed-image'" },
  engineCustom: {
    text: 'CUSTOM: an engine module given with --engine, not the one shipped with this version of poswipe',
    when: "outcome.engine.source is 'custom'",
  },
  engineNone: {
    text: "none: the bootloader's own commands erased and checked the flash; no code of poswipe ran on the terminal",
    when: 'sanitization.engine is null (bootloader-only parts): printed on the PDF',
  },
  flashSizeSame: { text: 'the flash-size register and the probe agree: {found} bytes', when: 'outcome.flashSize present and register equals found' },
  flashSizeDiffers: {
    text: 'the flash-size register claimed {register} bytes; {found} bytes were found ({probe}) and {planned} bytes planned',
    when: 'outcome.flashSize present and register differs from found',
  },
  flashSizeNoRegister: {
    text: 'the part has no readable flash-size register; {found} bytes were found ({probe}) and {planned} bytes planned',
    when: 'outcome.flashSize present and register is null',
  },
  regionProtected: { text: 'not covered: {reason}, left as it was', when: 'a region none of whose bytes were planned, because a protected sector holds it' },
  regionOutside: { text: 'not covered: outside the plan', when: 'a region none of whose bytes were planned, for any other reason' },
  regionPartly: { text: '{planned} of {size} bytes planned; the rest was not covered: {reason}', when: 'a region only part of whose bytes were planned' },
  regionUnchecked: {
    text: 'erased, but none of its blocks was in the sampled final check',
    when: 'a planned region with no block in the final check (quick sampling)',
  },
  regionChecked: { text: '{checked} of {blocks} blocks checked in the final check', when: 'a planned region with at least one block in the final check' },
  backupTaken: {
    text: 'data regions {names} backed up before the erase (keys never)',
    when: 'a backup holding data regions was written and read back before the erase',
  },
  backupHoldsNone: {
    text: 'the board declares no data regions: the backup file holds none',
    when: 'a backup file was written but the board declares no data regions',
  },
  backupUnlocked: {
    text: 'the terminal was read-protected: Readout Unprotect mass-erased it before anything could be read',
    when: 'no backup, and outcome.unlocked',
  },
  backupOptedOut: { text: 'none made (--no-backup)', when: 'no backup, --no-backup given' },
  backupNoDataRegions: {
    text: 'board {board} declares no data regions: nothing to back up (no file written)',
    when: 'no backup, the board declares no data regions',
  },
  backupNone: { text: 'no backup', when: 'no backup for any other reason' },
  notSanitizable: {
    text: 'one-time-programmable area: cannot be erased; holds no cardholder data or keys by design of the terminal',
    when: 'for each OTP area of the board (plan.notSanitizable)',
  },
} as const satisfies Record<string, Sentence>;

export type SentenceId = keyof typeof SENTENCES;

/** The sentence with its `{names}` filled in; a name not given is an error (a half-filled sentence must not be printed). */
export function say(id: SentenceId, vars: Record<string, string | number> = {}): string {
  return SENTENCES[id].text.replace(/\{(\w+)\}/g, (_m, k: string) => {
    if (!(k in vars)) throw new Error(`sentence ${id}: no value for {${k}}`);
    return String(vars[k]);
  });
}

/** A pattern that matches exactly the sentences a template can produce (for tests and docs). */
export function sentencePattern(id: SentenceId): RegExp {
  const parts = SENTENCES[id].text.split(/\{\w+\}/).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.+?')}$`, 's');
}
