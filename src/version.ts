// The operator's version, reported by CSI GetPluginInfo and `--version`.
export const VERSION = '0.2.0';
