import { GuardError } from './guard-errors.ts';

/**
 * What apt writes to a `DPkg::Pre-Install-Pkgs` command (apt-pkg/deb/dpkgpm.cc RunScriptsWithPkgs and
 * SendPkgsInfo; apt.conf(5)). Version 1 (the default): one absolute .deb path per line, only for packages
 * being unpacked. Versions 2 and 3 (`DPkg::Tools::Options::<cmd>::Version`, where <cmd> is the command up
 * to its first space): a `VERSION n` line, the whole configuration as `key=value` lines (lists as
 * `key::=value`, special characters %-encoded), a blank line, then one line per package action. Version 3
 * adds each version's architecture and Multi-Arch type.
 */
export interface AptHookInput {
  version: 1 | 2 | 3;
  /** Configuration keys lower-cased (apt's names are case-insensitive), each with its values in order. */
  config: Map<string, string[]>;
  actions: AptAction[];
}

export interface AptAction {
  package: string;
  /** null where apt writes `-`: not installed (old) or going away (new). */
  oldVersion: string | null;
  newVersion: string | null;
  /** Version 3 only; null where the version is `-`. */
  oldArch: string | null;
  newArch: string | null;
  /** `<` upgrade (also a first install), `>` downgrade or removal, `=` same version. */
  direction: '<' | '>' | '=';
  /** `unpack`: `file` is the .deb apt hands to dpkg; `error`: apt had no absolute path for it. */
  action: 'unpack' | 'configure' | 'remove' | 'error';
  file: string | null;
}

const bad = (line: number, why: string) =>
  new GuardError('GUARD_BAD_HOOK_INPUT', `apt hook input line ${line}: ${why}`);

/** Undoes apt's QuoteString: `%` and two hex digits stand for one byte. */
function percentDecode(text: string, line: number): string {
  if (!text.includes('%')) return text;
  const bytes: number[] = [];
  const raw = Buffer.from(text, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0x25) {
      bytes.push(raw[i]!);
      continue;
    }
    const hex = raw.subarray(i + 1, i + 3).toString('latin1');
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw bad(line, `bad %-escape ${JSON.stringify(`%${hex}`)}`);
    bytes.push(parseInt(hex, 16));
    i += 2;
  }
  return Buffer.from(bytes).toString('utf8');
}

const version = (field: string) => (field === '-' ? null : field);

function parseAction(text: string, protocol: 2 | 3, line: number): AptAction {
  // The last field is a file name, which may hold spaces: split off only the fields before it.
  const count = protocol === 2 ? 4 : 8;
  const fields: string[] = [];
  let rest = text;
  for (let i = 0; i < count; i++) {
    const space = rest.indexOf(' ');
    if (space <= 0) throw bad(line, `expected ${count + 1} fields in a version ${protocol} action line`);
    fields.push(rest.slice(0, space));
    rest = rest.slice(space + 1);
  }
  if (rest === '') throw bad(line, 'action line without an action');
  const [name, oldVersion, ...more] = fields as [string, string, ...string[]];
  const [oldArch, direction, newVersion, newArch] =
    protocol === 2 ? [null, more[0]!, more[1]!, null] : [more[0]!, more[2]!, more[3]!, more[4]!];
  if (direction !== '<' && direction !== '>' && direction !== '=')
    throw bad(line, `version change ${JSON.stringify(direction)} is not <, > or =`);
  let action: AptAction['action'];
  let file: string | null = null;
  if (rest === '**CONFIGURE**') action = 'configure';
  else if (rest === '**REMOVE**') action = 'remove';
  else if (rest === '**ERROR**') action = 'error';
  else if (rest.startsWith('/')) {
    action = 'unpack';
    file = rest;
  } else
    throw bad(line, `action ${JSON.stringify(rest.slice(0, 80))} is not a path or **CONFIGURE**/**REMOVE**`);
  return {
    package: name,
    oldVersion: version(oldVersion),
    newVersion: version(newVersion),
    oldArch: oldArch === null ? null : version(oldArch),
    newArch: newArch === null ? null : version(newArch),
    direction,
    action,
    file,
  };
}

/** Parses what apt wrote on the hook's input; anything else is a GUARD_BAD_HOOK_INPUT error. */
export function parseAptHookInput(text: string): AptHookInput {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const head = /^VERSION (\d+)$/.exec(lines[0] ?? '');
  if (!head) {
    const actions = lines.map((path, i): AptAction => {
      if (!path.startsWith('/'))
        throw bad(
          i + 1,
          `expected an absolute .deb path (protocol version 1), got ${JSON.stringify(path.slice(0, 80))}`,
        );
      return {
        package: '',
        oldVersion: null,
        newVersion: null,
        oldArch: null,
        newArch: null,
        direction: '<',
        action: 'unpack',
        file: path,
      };
    });
    return { version: 1, config: new Map(), actions };
  }
  const protocol = Number(head[1]);
  if (protocol !== 2 && protocol !== 3) throw bad(1, `protocol version ${protocol}: apt sends 1, 2 or 3`);
  const config = new Map<string, string[]>();
  let i = 1;
  for (; i < lines.length && lines[i] !== ''; i++) {
    const line = lines[i]!;
    const eq = line.indexOf('=');
    if (eq <= 0) throw bad(i + 1, 'configuration line without key=value');
    const key = percentDecode(line.slice(0, eq), i + 1).toLowerCase();
    const value = percentDecode(line.slice(eq + 1), i + 1);
    const values = config.get(key);
    if (values) values.push(value);
    else config.set(key, [value]);
  }
  if (i >= lines.length) throw bad(i, 'the configuration section does not end with a blank line');
  const actions = lines.slice(i + 1).map((line, j) => parseAction(line, protocol, i + 2 + j));
  return { version: protocol, config, actions };
}

/** The last value apt holds for `key` (case-insensitive), as a scalar option reads it. */
export function aptConfigValue(input: AptHookInput, key: string): string | undefined {
  return input.config.get(key.toLowerCase())?.at(-1);
}
