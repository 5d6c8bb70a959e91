/**
 * The one place that reads the environment. Every process (receiver, worker, scripts) calls
 * `configFromEnvironment()` once at start-up; wrong values stop it with one line that names each problem and how to
 * fix it. The settings, one schema per section with their defaults and descriptions, are in src/config-sections.ts.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { config as loadDotenv } from 'dotenv';
import type { z } from 'zod';
import { SECTIONS } from './config-sections';

export { EXAMPLE_SECRETS, type ApiToken } from './config-sections';

type Sections = typeof SECTIONS;
/** Every section's part of the configuration, in one object. */
type AllParts<Part> = (Part extends unknown ? (part: Part) => void : never) extends (all: infer All) => void ? All : never;
type Flat<T> = { [Key in keyof T]: T[Key] };

/** The configuration as the sections parse it from the environment, before the files it names are read. */
type ParsedConfig = Flat<AllParts<{ [Name in keyof Sections]: z.output<Sections[Name]['schema']> }[keyof Sections]>>;

type TemporalTlsFiles = NonNullable<ParsedConfig['temporal']['tlsFiles']>;

export type Config = Flat<Omit<ParsedConfig, 'temporal'> & { temporal: Flat<ParsedConfig['temporal'] & { tls?: TemporalTls }> }>;

/** What TEMPORAL_TLS_* name, read and checked at start-up (the shape of the Temporal SDK's TLSConfig). */
export interface TemporalTls {
  /** the client certificate and its key (PEM), for mutual TLS */
  clientCertPair?: { crt: Buffer; key: Buffer };
  /** the CA that signed the server's certificate (PEM); unset: the system's trusted CAs */
  serverRootCACertificate?: Buffer;
  /** the name the server's certificate must carry, when it differs from TEMPORAL_ADDRESS's host */
  serverNameOverride?: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Parses every section and reads the files the settings name, then stops with all the problems found, not only the
 * first: the environment is fixed in one go.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const { parts, problems } = parseSections(Object.values(SECTIONS), env);
  // Complete once no section has a problem; the TLS files are read as soon as the Temporal section parsed.
  const parsed = Object.assign({}, ...parts) as Partial<ParsedConfig>;
  const tls = parsed.temporal ? readTemporalTls(parsed.temporal.tlsFiles) : { problems: [] };
  stopOnProblems([...problems, ...tls.problems]);
  const config = parsed as ParsedConfig;
  return { ...config, temporal: { ...config.temporal, tls: tls.tls } };
}

/** For tools that only touch the database (migrations): they need none of the webhook settings. */
function loadDatabaseConfig(env: Record<string, string | undefined>): Pick<Config, 'databaseUrl' | 'logLevel'> {
  const { parts, problems } = parseSections([SECTIONS.database, SECTIONS.logging], env);
  stopOnProblems(problems);
  return Object.assign({}, ...parts) as Pick<Config, 'databaseUrl' | 'logLevel'>;
}

/** Each section's part, and the problems of all of them: a variable that several sections read is named once. */
function parseSections(sections: { schema: z.ZodType<object> }[], env: Record<string, string | undefined>): { parts: object[]; problems: string[] } {
  const values = withoutBlanks(env);
  const parts: object[] = [];
  const problems = new Set<string>();
  for (const { schema } of sections) {
    const result = schema.safeParse(values);
    if (result.success) parts.push(result.data);
    // The variable's name only: an index into a comma-separated list means nothing to someone editing .env.
    else for (const issue of result.error.issues) problems.add(`${String(issue.path[0] ?? 'environment')} ${issue.message}`);
  }
  return { parts, problems: [...problems] };
}

function stopOnProblems(problems: string[]): void {
  if (problems.length) throw new ConfigError(`Configuration error: ${problems.join('; ')}. Set it in .env (see .env.example).`);
}

/** An empty (or blank) variable counts as unset, so `FOO=` in .env falls back to the default. */
function withoutBlanks(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => Boolean(entry[1]?.trim())));
}

/**
 * TEMPORAL_TLS_*, read and checked at start-up rather than at the first connection: each file is readable and holds
 * PEM, and the key is the certificate's.
 */
function readTemporalTls(files: TemporalTlsFiles | undefined): { tls?: TemporalTls; problems: string[] } {
  if (!files) return { problems: [] };
  const problems: string[] = [];
  const readPem = (variable: string, path: string | undefined, what: string, parse: (pem: Buffer) => unknown): Buffer | undefined => {
    if (!path) return undefined;
    let pem: Buffer;
    try {
      pem = readFileSync(path);
    } catch (error) {
      problems.push(`${variable} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}: ${path}): give the path of ${what}`);
      return undefined;
    }
    try {
      parse(pem);
      return pem;
    } catch {
      problems.push(`${variable} (${path}) does not hold ${what}`);
      return undefined;
    }
  };
  const crt = readPem('TEMPORAL_TLS_CERT_PATH', files.certPath, 'a PEM certificate', (pem) => new X509Certificate(pem));
  const key = readPem('TEMPORAL_TLS_KEY_PATH', files.keyPath, 'an unencrypted PEM private key', (pem) => createPrivateKey(pem));
  const ca = readPem('TEMPORAL_TLS_CA_PATH', files.caPath, 'a PEM CA certificate', (pem) => new X509Certificate(pem));
  if (crt && key && !new X509Certificate(crt).checkPrivateKey(createPrivateKey(key))) {
    problems.push('TEMPORAL_TLS_KEY_PATH is not the key of the certificate in TEMPORAL_TLS_CERT_PATH: give the matching pair');
  }
  if (problems.length) return { problems };
  return { tls: { clientCertPair: crt && key ? { crt, key } : undefined, serverRootCACertificate: ca, serverNameOverride: files.serverName }, problems };
}

/** Reads `.env` (if present) and the process environment; exits with one clear line on a mistake. */
export function configFromEnvironment(): Config {
  return exitOnConfigError(() => loadConfig(readEnvironment()));
}

export function databaseConfigFromEnvironment(): Pick<Config, 'databaseUrl' | 'logLevel'> {
  return exitOnConfigError(() => loadDatabaseConfig(readEnvironment()));
}

function readEnvironment(): Record<string, string | undefined> {
  loadDotenv({ quiet: true });
  return process.env;
}

function exitOnConfigError<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}
