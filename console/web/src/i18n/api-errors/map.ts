// Codes of the map feature (see README.md beside this file), issue 9. The map's routes
// (console/server/map) answer only the common codes (validation, 401, 403): none of their own.
export const zhCN = {}

export const en: typeof zhCN = {}
