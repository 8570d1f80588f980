// Codes of the audit feature (see README.md beside this file), issue 9.
export const zhCN = {}

export const en: typeof zhCN = {}
