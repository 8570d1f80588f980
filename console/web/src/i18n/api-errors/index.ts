// The server's error codes worded per language, one file per feature (README.md beside this file).
import * as common from './common.ts'
import * as identity from './identity.ts'
import * as devices from './devices.ts'
import * as media from './media.ts'
import * as onvif from './onvif.ts'
import * as jobs from './jobs.ts'
import * as snapshots from './snapshots.ts'
import * as evidence from './evidence.ts'
import * as retention from './retention.ts'
import * as incidents from './incidents.ts'
import * as search from './search.ts'
import * as wall from './wall.ts'
import * as alarms from './alarms.ts'
import * as realtime from './realtime.ts'
import * as sites from './sites.ts'
import * as map from './map.ts'
import * as audit from './audit.ts'
import * as linkage from './linkage.ts'
import * as stats from './stats.ts'

const features = [identity, devices, media, onvif, jobs, snapshots, evidence, retention, incidents, search, wall, alarms, realtime, sites, map, audit, linkage, stats]

export const apiErrorsZhCN = Object.assign({}, common.zhCN, ...features.map((f) => f.zhCN))
export const apiErrorsEn = Object.assign({}, common.en, ...features.map((f) => f.en))
