/**
 * The user's configuration directory and the operator's settings (poswipe.json).
 *
 *   directory   $POSWIPE_CONFIG_DIR, else $XDG_CONFIG_HOME/poswipe, else ~/.config/poswipe
 *   settings    <directory>/poswipe.json, or the file named by --operator-config
 *
 * The directory also holds the bench keys (keys.ts) and the audit database (audit.ts).
 */
import { readInputFile } from '../files/read-bounded';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { InputError } from '../errors';

export function configDir(): string {
  const env = process.env.POSWIPE_CONFIG_DIR;
  if (env) return resolve(env);
  const xdg = process.env.XDG_CONFIG_HOME;
  if (xdg) return join(resolve(xdg), 'poswipe');
  return join(homedir(), '.config', 'poswipe');
}

/** Creates the configuration directory (mode 0700: it holds private keys) and returns it. */
export function ensureConfigDir(): string {
  const dir = configDir();
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    try {
      chmodSync(dir, 0o700);
    } catch {
      // not ours to change: leave it
    }
  }
  return dir;
}

/** A person block of the NIST SP 800-88 sample certificate. */
export interface Person {
  name?: string;
  title?: string;
  organization?: string;
  location?: string;
  phone?: string;
}

export const DESTINATIONS = ['internal-reuse', 'external-reuse', 'recycling-facility', 'manufacturer', 'other'] as const;
export type Destination = (typeof DESTINATIONS)[number];

/** Everything the certificate needs that the tool cannot know by itself. */
export interface OperatorConfig {
  operator: Person;
  validation: Person;
  destination: { type?: Destination; details?: string };
  media: { propertyNumber?: string; source?: string; classification?: string };
  postClassification?: string;
  notes?: string;
  /** Ed25519 private key (PEM) that signs certificates; the bench key when absent */
  signKey?: string;
  /** age recipient (age1…) or a file of them that backups are encrypted to; the bench identity when absent */
  backupRecipient?: string;
  /** the audit database; <config dir>/audit.sqlite when absent */
  auditDb?: string;
  /** the fleet's PostgreSQL audit store (postgres://…); rows are queued in auditDb and pushed to it */
  auditUrl?: string;
}

export function emptyOperatorConfig(): OperatorConfig {
  return { operator: {}, validation: {}, destination: {}, media: {} };
}

const PERSON_FIELDS = ['name', 'title', 'organization', 'location', 'phone'] as const;

function str(where: string, v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new InputError(`${where}: expected a string`);
  return v;
}

function person(where: string, v: unknown): Person {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new InputError(`${where}: expected an object with ${PERSON_FIELDS.join(', ')}`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!(PERSON_FIELDS as readonly string[]).includes(k)) throw new InputError(`${where}.${k}: unknown field (known: ${PERSON_FIELDS.join(', ')})`);
  const p: Person = {};
  for (const k of PERSON_FIELDS) {
    const s = str(`${where}.${k}`, o[k]);
    if (s !== undefined) p[k] = s;
  }
  return p;
}

export function parseDestination(where: string, v: unknown): Destination | undefined {
  const s = str(where, v);
  if (s === undefined) return undefined;
  if (!(DESTINATIONS as readonly string[]).includes(s)) throw new InputError(`${where} "${s}": use one of ${DESTINATIONS.join(', ')}`);
  return s as Destination;
}

const TOP_FIELDS = ['operator', 'validation', 'destination', 'media', 'postClassification', 'notes', 'signKey', 'backupRecipient', 'auditDb', 'auditUrl'];

/** Parses the settings file's text; every problem is an InputError naming the file and field. */
export function parseOperatorConfig(text: string, file: string): OperatorConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new InputError(`${file}: expected a JSON object`);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!TOP_FIELDS.includes(k)) throw new InputError(`${file}: unknown field "${k}" (known: ${TOP_FIELDS.join(', ')})`);
  const dest = (o.destination ?? {}) as Record<string, unknown>;
  if (typeof dest !== 'object' || Array.isArray(dest)) throw new InputError(`${file}: destination: expected an object with type and details`);
  const media = (o.media ?? {}) as Record<string, unknown>;
  if (typeof media !== 'object' || Array.isArray(media)) throw new InputError(`${file}: media: expected an object with propertyNumber, source, classification`);
  const base = file.replace(/[^/\\]*$/, '');
  const pathField = (k: string): string | undefined => {
    const s = str(`${file}: ${k}`, o[k]);
    return s === undefined ? undefined : resolve(base || '.', s);
  };
  return {
    operator: person(`${file}: operator`, o.operator),
    validation: person(`${file}: validation`, o.validation),
    destination: { type: parseDestination(`${file}: destination.type`, dest.type), details: str(`${file}: destination.details`, dest.details) },
    media: {
      propertyNumber: str(`${file}: media.propertyNumber`, media.propertyNumber),
      source: str(`${file}: media.source`, media.source),
      classification: str(`${file}: media.classification`, media.classification),
    },
    postClassification: str(`${file}: postClassification`, o.postClassification),
    notes: str(`${file}: notes`, o.notes),
    signKey: pathField('signKey'),
    backupRecipient: typeof o.backupRecipient === 'string' && o.backupRecipient.startsWith('age1') ? o.backupRecipient : pathField('backupRecipient'),
    auditDb: pathField('auditDb'),
    auditUrl: str(`${file}: auditUrl`, o.auditUrl),
  };
}

/**
 * The operator settings: `file` when given (it must exist), else poswipe.json in the config
 * directory when it exists, else nothing. Paths inside the file are relative to the file.
 */
export function loadOperatorConfig(file?: string): { config: OperatorConfig; source: string | null } {
  const path = file ? resolve(file) : join(configDir(), 'poswipe.json');
  if (!existsSync(path)) {
    if (file) throw new InputError(`--operator-config ${file}: no such file`);
    return { config: emptyOperatorConfig(), source: null };
  }
  const text = readInputFile(path, file ? '--operator-config' : 'operator settings', 'settings').toString('utf8');
  return { config: parseOperatorConfig(text, path), source: path };
}

/** The command-line operator options (they override the settings file field by field). */
export interface OperatorOptions {
  operatorConfig?: string;
  operatorName?: string;
  operatorTitle?: string;
  operatorOrg?: string;
  operatorLocation?: string;
  operatorPhone?: string;
  destination?: string;
  destinationDetails?: string;
  propertyNumber?: string;
  notes?: string;
}

export function applyOperatorOptions(c: OperatorConfig, o: OperatorOptions): OperatorConfig {
  const pick = <T>(a: T | undefined, b: T | undefined): T | undefined => (a !== undefined ? a : b);
  return {
    ...c,
    operator: {
      name: pick(o.operatorName, c.operator.name),
      title: pick(o.operatorTitle, c.operator.title),
      organization: pick(o.operatorOrg, c.operator.organization),
      location: pick(o.operatorLocation, c.operator.location),
      phone: pick(o.operatorPhone, c.operator.phone),
    },
    destination: {
      type: pick(parseDestination('--destination', o.destination), c.destination.type),
      details: pick(o.destinationDetails, c.destination.details),
    },
    media: { ...c.media, propertyNumber: pick(o.propertyNumber, c.media.propertyNumber) },
    notes: pick(o.notes, c.notes),
  };
}
