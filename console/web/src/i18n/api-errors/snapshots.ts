// Codes of the snapshots feature (see README.md beside this file).
export const zhCN = {
}

export const en: typeof zhCN = {
}
