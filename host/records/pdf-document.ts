/**
 * A new pdfkit document and the promise of its bytes (certificate-pdf.ts, handover-pdf.ts).
 */
import type PDFKit from 'pdfkit';

// loaded when a PDF is made, not at start-up: pdfkit and its fonts cost about 0.4 s to load
const pdfkit = (): typeof PDFKit => require('pdfkit');

/** A pdfkit document with `options`; `done` resolves to the whole file once `doc.end()` is called. */
export function newPdfDocument(options: PDFKit.PDFDocumentOptions): { doc: PDFKit.PDFDocument; done: Promise<Buffer> } {
  const PDFDocument = pdfkit();
  const doc = new PDFDocument(options);
  const chunks: Buffer[] = [];
  doc.on('data', (b: Buffer) => chunks.push(b));
  const done = new Promise<Buffer>((res, rej) => {
    doc.on('end', () => res(Buffer.concat(chunks)));
    doc.on('error', rej);
  });
  return { doc, done };
}
