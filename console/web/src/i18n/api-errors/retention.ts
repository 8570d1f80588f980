// Codes of the retention feature (see README.md beside this file).
export const zhCN = {
}

export const en: typeof zhCN = {
}
