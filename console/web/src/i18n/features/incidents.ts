// Messages of the incidents pages and components (issue 9). zhCN is the source of truth; en has the same shape.
export const zhCN = {}

export const en: typeof zhCN = {}
