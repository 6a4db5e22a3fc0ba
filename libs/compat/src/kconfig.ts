/** The kernel config options btfwatch's predictions depend on. */
export interface KernelConfigFlags {
  DEBUG_INFO_BTF: boolean;
  DEBUG_INFO_BTF_MODULES: boolean;
  MODULE_ALLOW_BTF_MISMATCH: boolean;
  MODVERSIONS: boolean;
}

/** `CONFIG_X=y|m|"str"|n` lines of a kernel .config; `# CONFIG_X is not set` lines are absent keys. */
export function parseKernelConfig(text: string): Map<string, string> {
  const options = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) options.set(m[1]!, m[2]!);
  }
  return options;
}

export function configFlags(options: Map<string, string>): KernelConfigFlags {
  const on = (name: string) => options.get(name) === 'y';
  return {
    DEBUG_INFO_BTF: on('DEBUG_INFO_BTF'),
    DEBUG_INFO_BTF_MODULES: on('DEBUG_INFO_BTF_MODULES'),
    MODULE_ALLOW_BTF_MISMATCH: on('MODULE_ALLOW_BTF_MISMATCH'),
    MODVERSIONS: on('MODVERSIONS'),
  };
}
