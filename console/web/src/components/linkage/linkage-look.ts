// How linkage states look in Element Plus tags (one place, so the units page, the incident's panel
// and the map agree).
import type { CueStatus, UnitState } from '../../api/linkage.ts'

export type TagType = 'success' | 'warning' | 'info' | 'danger' | 'primary'

export const STATE_TAG: Record<UnitState, TagType> = { available: 'success', busy: 'warning', off_duty: 'info' }

export const CUE_TAG: Record<CueStatus, TagType> = {
  sent: 'danger', received: 'warning', en_route: 'primary', on_scene: 'success', done: 'info', cancelled: 'info', reassigned: 'info',
}

export const RING_CODES_BY_INDEX = ['control', 'prevention', 'sealing'] as const
