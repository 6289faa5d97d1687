/**
 * The handover manifest as a PDF for people (pdfkit): the window, the bench, the counts, one table
 * row per terminal, and the signature block naming the JSON file (the record that verifies).
 */
import { newPdfDocument } from './pdf-document';

const INK = '#212121';
const MUTED = '#616161';
const GREEN = '#2e7d32';
const RED = '#c62828';

type Obj = Record<string, unknown>;

function text(v: unknown): string {
  return v === null || v === undefined || v === '' ? '—' : String(v);
}

/** [column, header, width share] */
const TABLE: [string, string, number][] = [
  ['board', 'Board', 1.2],
  ['pid', 'PID', 0.6],
  ['uid', 'Unique ID', 2.1],
  ['result', 'Result', 0.9],
  ['certificate_id', 'Certificate', 2.6],
  ['ended', 'Time (UTC)', 1.9],
  ['operator', 'Operator', 1.2],
  ['host', 'Bench', 1.0],
];

export function renderHandoverPdf(input: { document: { handover: Obj; signature: Obj }; jsonName: string; jsonSha256: string }): Promise<Buffer> {
  const h = input.document.handover;
  const sig = input.document.signature;
  const win = (h.window ?? {}) as Obj;
  const counts = (h.counts ?? {}) as Obj;
  const by = (h.preparedBy ?? {}) as Obj;
  const rows = (Array.isArray(h.terminals) ? h.terminals : []) as Obj[];
  const { doc, done } = newPdfDocument({
    size: 'A4',
    layout: 'landscape',
    margin: 36,
    bufferPages: true,
    info: { Title: `Handover manifest ${text(h.id)}`, Author: 'poswipe' },
  });
  const left = doc.page.margins.left;
  const width = doc.page.width - left - doc.page.margins.right;
  doc.fillColor(INK).font('Helvetica-Bold').fontSize(18).text('Handover manifest', left, 36);
  doc
    .font('Helvetica')
    .fontSize(9)
    .fillColor(MUTED)
    .text(`manifest ${text(h.id)} · created ${text(h.created)} · bench ${text(by.bench)}${by.operator ? ` · operator ${text(by.operator)}` : ''}`);
  doc.text(`runs that ended from ${text(win.since)} to ${text(win.until)} · read from ${text(h.source)}`);
  doc.moveDown(0.4);
  doc
    .fillColor(INK)
    .font('Helvetica-Bold')
    .fontSize(11)
    .text(`${text(counts.terminals)} terminal(s): ${text(counts.sanitized)} sanitized, ${text(counts.notSanitized)} not sanitized`);
  doc.moveDown(0.5);

  const total = TABLE.reduce((s, c) => s + c[2], 0);
  const widths = TABLE.map((c) => (c[2] / total) * width);
  const header = (): void => {
    let x = left;
    const y = doc.y;
    doc.font('Helvetica-Bold').fontSize(7.5).fillColor(MUTED);
    TABLE.forEach((c, i) => {
      doc.text(c[1], x, y, { width: widths[i] - 4, lineBreak: false });
      x += widths[i];
    });
    doc.y = y + 12;
  };
  header();
  for (const r of rows) {
    if (doc.y > doc.page.height - 60) {
      doc.addPage();
      header();
    }
    let x = left;
    const y = doc.y;
    TABLE.forEach((c, i) => {
      const v = text(r[c[0]]);
      doc
        .font(c[0] === 'uid' || c[0] === 'certificate_id' ? 'Courier' : 'Helvetica')
        .fontSize(7)
        .fillColor(c[0] === 'result' ? (r.result === 'ok' ? GREEN : RED) : INK);
      doc.text(c[0] === 'result' ? (r.result === 'ok' ? 'SANITIZED' : `NOT (${v})`) : v, x, y, { width: widths[i] - 4, lineBreak: false, ellipsis: true });
      x += widths[i];
    });
    doc.y = y + 11;
  }
  doc.moveDown(1);
  if (doc.y > doc.page.height - 90) doc.addPage();
  doc.font('Helvetica-Bold').fontSize(10).fillColor(INK).text('Digital signature', left, doc.y);
  doc
    .font('Helvetica')
    .fontSize(8)
    .text(
      `This PDF renders ${input.jsonName} (SHA-256 ${input.jsonSha256}), the signed record: check it with  poswipe cert verify ${input.jsonName} --trust <public.pem>, or with openssl (docs/records.md).`,
      { width },
    );
  doc.text(`Ed25519 key ${text(sig.keyId)}, signed ${text(sig.signedAt)}`, { width });
  doc.font('Courier').fontSize(7).text(text(sig.value), { width });
  doc.end();
  return done;
}
