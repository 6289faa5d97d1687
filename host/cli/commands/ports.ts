import type { Command } from 'commander';
import { readdirSync } from 'node:fs';
import { boardForProductId } from '../../boards/load';
import { EXIT } from '../../errors';
import { BootloaderClient } from '../../protocol/client';
import type { SerialTransport } from '../../transport/serial';
import { act, out } from '../common';
import { hexPid } from '../../format/hex';

interface PortRow {
  path: string;
  vendorId: string | null;
  productId: string | null;
  serialNumber: string | null;
  manufacturer: string | null;
  bootloader?: { answers: boolean; pid: string | null; boards: string[]; error: string | null };
}

/** Asks one port for the bootloader sync and Get ID, with short timeouts; never throws. */
async function probe(path: string, baudRate: number): Promise<NonNullable<PortRow['bootloader']>> {
  let transport: SerialTransport | null = null;
  try {
    const serial = await import('../../transport/serial');
    transport = await serial.SerialTransport.open(path, { baudRate });
    const client = new BootloaderClient(transport, { byteTimeoutMs: 200, attempts: 2 });
    await client.sync(2);
    const pid = await client.getId();
    return { answers: true, pid: hexPid(pid), boards: boardForProductId(pid).map((b) => b.id), error: null };
  } catch (err) {
    return { answers: false, pid: null, boards: [], error: (err as Error).message };
  } finally {
    await transport?.close().catch(() => undefined);
  }
}

/**
 * The serial ports of this machine. serialport's listing needs udev (udevadm); where it is missing
 * (containers), fall back to the device names in /dev, without USB details.
 */
async function listPorts(): Promise<{ path: string; vendorId?: string; productId?: string; serialNumber?: string; manufacturer?: string }[]> {
  try {
    const { SerialPort } = await import('serialport');
    return await SerialPort.list();
  } catch {
    const names = readdirSync('/dev').filter((n) => /^tty(USB|ACM)\d+$/.test(n));
    return names.sort().map((n) => ({ path: `/dev/${n}` }));
  }
}

export function register(program: Command): void {
  program
    .command('ports')
    .description('list serial ports; with --probe, which ones answer the bootloader sync')
    .option('--probe', 'send the bootloader sync to each port and read its product ID')
    .option('--baud <n>', 'line speed for --probe (default 115200)', '115200')
    .option('--json', 'JSON output')
    .action(
      act(async (o: { probe?: boolean; baud: string; json?: boolean }) => {
        const list = await listPorts();
        const rows: PortRow[] = list.map((p) => ({
          path: p.path,
          vendorId: p.vendorId ?? null,
          productId: p.productId ?? null,
          serialNumber: p.serialNumber ?? null,
          manufacturer: p.manufacturer ?? null,
        }));
        if (o.probe) for (const r of rows) r.bootloader = await probe(r.path, Number(o.baud) || 115200);
        if (o.json) out(JSON.stringify(rows, null, 2));
        else if (!rows.length) out('no serial ports found');
        else
          for (const r of rows) {
            const usb = r.vendorId ? ` usb ${r.vendorId}:${r.productId}${r.serialNumber ? ` serial ${r.serialNumber}` : ''}` : '';
            const bl = r.bootloader
              ? r.bootloader.answers
                ? ` bootloader pid ${r.bootloader.pid} (${r.bootloader.boards.join(', ') || 'no board file'})`
                : ' no bootloader answer'
              : '';
            out(`${r.path}${usb}${r.manufacturer ? ` ${r.manufacturer}` : ''}${bl}`);
          }
        return EXIT.OK;
      }),
    );
}
