/**
 * The certificate as a PDF for people (pdfkit): a summary, a sector map drawn with rectangles
 * (erased / protected / failed), the NIST SP 800-88 fields, and the signature block with the
 * SHA-256 of the signed JSON file and the Ed25519 signature. The JSON file is the authoritative,
 * verifiable record (`poswipe cert verify`); the PDF names it and carries its hash.
 */
import { say } from './certificate-text';
import { newPdfDocument } from './pdf-document';

const GREEN = '#2e7d32';
const GREY = '#9e9e9e';
const RED = '#c62828';
const INK = '#212121';
const MUTED = '#616161';
const COLORS: Record<string, string> = { erased: GREEN, protected: GREY, failed: RED };

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {};
}

function text(v: unknown): string {
  if (v === null || v === undefined || v === '') return '—';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function kib(n: number): string {
  return n >= 1024 * 1024 ? `${n / 1024 / 1024} MiB` : `${n / 1024} KiB`;
}

export interface PdfInput {
  /** the parsed certificate file: { certificate, signature }; a failure report has no signature */
  document: { certificate: Obj; signature: Obj | null };
  /** SHA-256 (hex) of the JSON file's bytes */
  jsonSha256: string;
  /** the JSON file's name, as the PDF refers to it */
  jsonName: string;
}

/** Renders the PDF into a buffer. */
export function renderCertificatePdf(input: PdfInput): Promise<Buffer> {
  const c = input.document.certificate;
  const sig = input.document.signature ?? {};
  const sanitized = c.result === 'SANITIZED' && input.document.signature !== null;
  const title = sanitized ? 'Certificate of Sanitization' : 'Sanitization failure report';
  const media = obj(c.media);
  const san = obj(c.sanitization);
  const ver = obj(san.verification);
  const timing = obj(c.timing);
  const person = obj(c.person);
  const dest = obj(c.destination);
  const validation = obj(c.validation);
  const keys = obj(san.keys);
  const tool = obj(san.tool);
  // null where no engine ran (bootloader-only parts): the PDF then names no engine hash
  const engine = san.engine === null || san.engine === undefined ? null : obj(san.engine);
  const flash = obj(media.flashSize);
  const witness = ver.witness === null || ver.witness === undefined ? null : obj(ver.witness);
  const regions = (Array.isArray(c.regions) ? c.regions : []) as Obj[];
  const sectors = (Array.isArray(c.sectors) ? c.sectors : []) as { index: number; address: string; size: number; result: string; regions: string[] }[];

  const { doc, done } = newPdfDocument({
    size: 'A4',
    margin: 40,
    bufferPages: true,
    info: { Title: `${title} ${text(c.id)}`, Author: 'poswipe', Subject: `${text(media.board)} ${text(media.serialNumber)}` },
  });

  const left = doc.page.margins.left;
  const width = doc.page.width - doc.page.margins.left - doc.page.margins.right;

  // title and result banner
  doc.fillColor(INK).font('Helvetica-Bold').fontSize(20).text(title, left, 40);
  doc
    .font('Helvetica')
    .fontSize(9)
    .fillColor(MUTED)
    .text(
      sanitized
        ? `${text(c.basis)}  ·  certificate ${text(c.id)}`
        : `NOT a certificate: this terminal must not be released as sanitized  ·  report ${text(c.id)}`,
    );
  doc.moveDown(0.6);
  const bannerY = doc.y;
  doc.rect(left, bannerY, width, 40).fill(sanitized ? GREEN : RED);
  doc
    .fillColor('white')
    .font('Helvetica-Bold')
    .fontSize(16)
    .text(sanitized ? 'SANITIZED' : 'NOT SANITIZED', left + 12, bannerY + 6, { lineBreak: false });
  doc
    .font('Helvetica')
    .fontSize(9)
    .text(
      sanitized
        ? `${text(media.board)}, unique ID ${text(media.serialNumber)}  ·  ${text(san.methodType)}: ${text(san.methodUsed)} (${san.unlocked ? 'asked for ' : ''}${text(san.method)}), ${text(ver.method)} verification: ${text(ver.blocksChecked)} blocks checked, ${text(ver.blocksFailed)} failed`
        : `${text(media.board)}, unique ID ${text(media.serialNumber)}  ·  ${text(san.method)}: ${text(c.reason)}`,
      left + 12,
      bannerY + 25,
      { width: width - 24, height: 11, ellipsis: true },
    );
  doc.y = bannerY + 48;

  // field table helper: label / value rows in two columns
  const section = (title: string): void => {
    if (doc.y > doc.page.height - 120) doc.addPage();
    doc.moveDown(0.3);
    doc.fillColor(INK).font('Helvetica-Bold').fontSize(11).text(title, left, doc.y);
    doc
      .moveTo(left, doc.y + 1)
      .lineTo(left + width, doc.y + 1)
      .lineWidth(0.5)
      .strokeColor(GREY)
      .stroke();
    doc.moveDown(0.3);
  };
  // the label column is as narrow as the longest label allows: the values (hashes, the witness, the
  // regions) get the width, so that a terminal's certificate stays on one page
  const LABEL_W = 112;
  const rows = (pairs: [string, unknown][], size = 8): void => {
    for (const [label, value] of pairs) {
      if (doc.y > doc.page.height - 70) doc.addPage();
      const y = doc.y;
      doc.font('Helvetica').fontSize(size).fillColor(MUTED).text(label, left, y, { width: LABEL_W });
      doc
        .font('Helvetica')
        .fontSize(size)
        .fillColor(INK)
        .text(text(value), left + LABEL_W + 5, y, { width: width - LABEL_W - 5 });
      doc.y = Math.max(doc.y, y + size + 2.5);
    }
  };

  section('Media');
  rows([
    ['Make / model', media.makeModel],
    ['Board', `${text(media.board)}${Array.isArray(media.inherits) && media.inherits.length ? ` (from ${(media.inherits as string[]).join(' > ')})` : ''}`],
    ['Serial number (unique ID)', media.serialNumber],
    ['Product ID', media.productId],
    ['Property number', media.propertyNumber],
    // version 1 certificates carry no flashSize
    ['Media type / flash size', media.flashSize === undefined ? media.mediaType : `${text(media.mediaType)}; ${text(flash.note)}`],
    ['Source / classification', `${text(media.source)} / ${text(media.classification)}`],
    ['Data backed up', `${text(media.dataBackedUp)}${media.backupLocation ? `: ${text(media.backupLocation)}` : ''}`],
    ['Backup', media.backupSha256 ? `SHA-256 ${text(media.backupSha256)}, ${text(media.backupEncryption)}` : media.backupNote],
  ]);

  section('Sanitization');
  const passes = (Array.isArray(san.passes) ? san.passes : []) as Obj[];
  rows([
    ['Method type / used', `${text(san.methodType)} / ${text(san.methodUsed)}`],
    ['Method details', san.methodDetails],
    [
      'Passes',
      passes
        .map(
          (p) =>
            `${text(p.name)} (${text(p.kind)}${p.pattern ? `, ${text(p.pattern)}` : ''}${p.seed ? `, seed ${text(p.seed)}` : ''}): ${p.verified ? 'verified' : 'FAILED'}`,
        )
        .join('; '),
    ],
    [
      'Key store',
      Array.isArray(keys.regions) && keys.regions.length ? `${keys.zeroized ? 'zeroized and verified' : 'NOT zeroized'}: ${text(keys.note)}` : keys.note,
    ],
    [
      'Verification',
      `${text(ver.method)}: ${text(ver.blocksChecked)} blocks of ${kib(Number(ver.blockSize))}, coverage ${((Number(obj(ver.coverage).fraction) || 0) * 100).toFixed(1)}%, ${text(ver.retries)} retries; nonce ${text(ver.nonce)}`,
    ],
    ['How blocks were checked', ver.digest],
    // the witness's seed and addresses are in the JSON file
    ['ROM witness', witness ? witness.note : say('witnessNone')],
    [
      'Tool / engine',
      `${text(tool.name)} ${text(tool.version)} (${text(tool.command)}); engine on the terminal: ${
        engine
          ? `${text(engine.note)}; module SHA-256 ${text(engine.sha256)} (${text(engine.bytes)} bytes)${engine.agentSha256 ? `; agent SHA-256 ${text(engine.agentSha256)}` : ''}${engine.file ? `; file ${text(engine.file)}` : ''}`
          : say('engineNone')
      }`,
    ],
    [
      'Not sanitizable',
      Array.isArray(san.notSanitizable) && san.notSanitizable.length
        ? (san.notSanitizable as Obj[]).map((r) => `${text(r.address)} (${text(r.size)} bytes): ${text(r.reason)}`).join('; ')
        : 'nothing',
    ],
    ['Destination / post class.', `${text(dest.type)}${dest.details ? `: ${text(dest.details)}` : ''} / ${text(san.postSanitizationClassification)}`],
    ['Started / ended', `${text(timing.started)} / ${text(timing.ended)} (${text(timing.durationSeconds)} s)`],
    ['Notes', san.notes],
  ]);

  // how each region was verified (version 1 certificates have no regions); small, so that a
  // terminal's certificate stays on one page
  if (regions.length) {
    rows(
      regions.map((r) => {
        const by = Array.isArray(r.verifiedBy) ? (r.verifiedBy as string[]).join(' + ') : text(r.verifiedBy);
        const note = text(r.note);
        // "not covered: …" notes say it themselves
        const said = note.startsWith(by) ? note : `${by}: ${note}`;
        return [
          `Region ${text(r.name)} (${text(r.kind)})`,
          `${text(r.address)}, ${kib(Number(r.size))}: ${said}${typeof r.witnessChunks === 'number' && r.witnessChunks > 0 ? `; ${r.witnessChunks} witness chunk(s)` : ''}`,
        ];
      }),
      7,
    );
  }

  // the sector map: one rectangle per sector, its width growing with the square root of its size
  // (so that 16 KiB sectors stay visible next to 128 KiB ones); many small pages wrap onto rows
  section('Sector map');
  const many = sectors.length > 64;
  const perRow = many ? 64 : Math.max(1, sectors.length);
  const rowCount = Math.max(1, Math.ceil(sectors.length / perRow));
  const cellH = many ? 9 : 22;
  const rowGap = many ? 2 : 12;
  const gap = many ? 0.4 : 1.5;
  const mapY = doc.y + 4;
  for (let r = 0; r < rowCount; r++) {
    const part = sectors.slice(r * perRow, (r + 1) * perRow);
    const w = part.map((s) => Math.sqrt(s.size));
    const sum = w.reduce((a, b) => a + b, 0) || 1;
    const scale = many ? (width - gap * perRow) / (Math.sqrt(part[0]?.size ?? 1) * perRow) : (width - gap * part.length) / sum;
    let x = left;
    const y = mapY + r * (cellH + rowGap);
    part.forEach((s, i) => {
      const cw = w[i] * scale;
      doc.rect(x, y, Math.max(cw, 0.5), cellH).fill(COLORS[s.result] ?? RED);
      if (!many && cw > 10)
        doc
          .fillColor('white')
          .font('Helvetica-Bold')
          .fontSize(7)
          .text(String(s.index), x, y + 8, { width: cw, align: 'center', lineBreak: false });
      if (!many && cw > 30)
        doc
          .fillColor(MUTED)
          .font('Helvetica')
          .fontSize(6)
          .text(kib(s.size), x, y + cellH + 2, { width: cw, align: 'center', lineBreak: false });
      x += cw + gap;
    });
  }
  let ly = mapY + rowCount * (cellH + rowGap) + 2;
  let lx = left;
  const counts = (r: string): number => sectors.filter((s) => s.result === r).length;
  for (const [label, color, key] of [
    ['erased and verified', GREEN, 'erased'],
    ['protected (left as it was)', GREY, 'protected'],
    ['failed', RED, 'failed'],
  ] as const) {
    doc.rect(lx, ly, 9, 9).fill(color);
    doc
      .fillColor(INK)
      .font('Helvetica')
      .fontSize(8)
      .text(`${label}: ${counts(key)}`, lx + 13, ly + 1, { lineBreak: false });
    lx += 160;
  }
  ly += 13;
  const notes = sectors
    .filter((s) => s.result !== 'erased')
    .map((s) => `sector ${s.index} at ${s.address} (${kib(s.size)}) ${s.result}${s.regions.length ? `: ${s.regions.join(', ')}` : ''}`);
  doc
    .fillColor(MUTED)
    .fontSize(7.5)
    .text([`${sectors.length} sectors, numbered as the bootloader numbers them`, ...notes].join('; ') + '.', left, ly, { width });
  doc.moveDown(0.4);

  // the two people side by side: who performed it, who validated it (signature lines for ink)
  if (doc.y > doc.page.height - 230) doc.addPage();
  const colW = (width - 20) / 2;
  const topY = doc.y + 6;
  let bottomY = topY;
  const personBlock = (title: string, p: Obj, x: number, signLabel: string): void => {
    doc.fillColor(INK).font('Helvetica-Bold').fontSize(11).text(title, x, topY, { width: colW });
    doc
      .moveTo(x, doc.y + 1)
      .lineTo(x + colW, doc.y + 1)
      .lineWidth(0.5)
      .strokeColor(GREY)
      .stroke();
    let y = doc.y + 5;
    for (const [label, v] of [
      ['Name', p.name],
      ['Title', p.title],
      ['Organization', p.organization],
      ['Location', p.location],
      ['Phone', p.phone],
    ] as const) {
      doc.font('Helvetica').fontSize(8.5).fillColor(MUTED).text(label, x, y, { width: 70 });
      doc.fillColor(INK).text(text(v), x + 72, y, { width: colW - 72 });
      y = Math.max(doc.y, y + 11);
    }
    y += 18;
    doc
      .moveTo(x, y)
      .lineTo(x + colW * 0.62, y)
      .strokeColor(INK)
      .lineWidth(0.5)
      .stroke();
    doc
      .moveTo(x + colW * 0.7, y)
      .lineTo(x + colW, y)
      .stroke();
    doc
      .fillColor(MUTED)
      .fontSize(7.5)
      .text(signLabel, x, y + 3, { lineBreak: false });
    doc.text('Date', x + colW * 0.7, y + 3, { lineBreak: false });
    bottomY = Math.max(bottomY, y + 14);
  };
  personBlock('Performed by', person, left, 'Signature');
  personBlock('Validated by', validation, left + colW + 20, 'Signature');
  doc.y = bottomY;
  if (!person.name)
    doc
      .font('Helvetica')
      .fontSize(7.5)
      .fillColor(MUTED)
      .text('Names and organizations come from poswipe.json in the config directory or --operator-* options.', left, doc.y, { width });
  doc.moveDown(0.4);

  if (!sanitized) {
    section('Not sanitized');
    doc
      .font('Helvetica-Bold')
      .fontSize(9)
      .fillColor(RED)
      .text(`This terminal was NOT sanitized: ${text(c.reason)}.`, left, doc.y, { width });
    doc
      .font('Helvetica')
      .fontSize(8.5)
      .fillColor(INK)
      .text(
        `This report is not signed and is not a certificate of sanitization. Send the device to Destroy, or erase it again. Details: ${input.jsonName} (SHA-256 ${input.jsonSha256}).`,
        { width },
      );
    footer();
    doc.end();
    return done;
  }

  section('Digital signature');
  doc
    .font('Helvetica')
    .fontSize(8)
    .fillColor(INK)
    .text(
      `This PDF renders ${input.jsonName}. That JSON file is the signed record: check it with  poswipe cert verify ${input.jsonName} --trust <public.pem>`,
      left,
      doc.y,
      { width },
    );
  doc.moveDown(0.3);
  rows([
    ['JSON file SHA-256', input.jsonSha256],
    ['Signing key', `${text(sig.algorithm)} ${text(sig.keyId)}, signed ${text(sig.signedAt)}`],
  ]);
  doc.font('Helvetica').fontSize(8.5).fillColor(MUTED).text('Signature', left, doc.y, { width: LABEL_W });
  const sigLines = text(sig.value)
    .replace(/(.{64})/g, '$1\n')
    .trim();
  doc
    .font('Courier')
    .fontSize(8)
    .fillColor(INK)
    .text(sigLines, left + LABEL_W + 5, doc.y - 10, { width: width - LABEL_W - 5 });

  footer();
  doc.end();
  return done;

  // the footer on every page
  function footer(): void {
    const range = doc.bufferedPageRange();
    for (let i = range.start; i < range.start + range.count; i++) {
      doc.switchToPage(i);
      const bottom = doc.page.margins.bottom;
      doc.page.margins.bottom = 0;
      doc
        .font('Helvetica')
        .fontSize(7)
        .fillColor(MUTED)
        .text(
          `${text(media.board)} · unique ID ${text(media.serialNumber)} · ${sanitized ? 'SANITIZED' : 'NOT SANITIZED'} · page ${i + 1} of ${range.count}`,
          left,
          doc.page.height - 30,
          { width, align: 'center', lineBreak: false },
        );
      doc.page.margins.bottom = bottom;
    }
  }
}
