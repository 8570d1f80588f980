// Evidence exports (证据导出): footage of one or more cameras over a time range, cut, hashed,
// signed and zipped by a worker; the console follows its progress and hands out the package.
import { http, seg } from './http.ts'
import type { Page } from './devices.ts'

export type ExportStatus = 'queued' | 'running' | 'done' | 'failed' | 'expired'
export type GapReason = 'no_recording' | 'unreadable'

export interface ExportItem {
  deviceId: string
  deviceName: string
  from: string
  to: string
}

/** A part of an asked range the package does not hold, declared in its manifest. */
export interface ExportGap {
  deviceId: string
  from: string
  to: string
  reason: GapReason
}

export interface DeliveredRange {
  deviceId: string
  from: string
  to: string
  file: string
  bytes: number
}

export interface ExportProgress {
  percent: number
  bytes: number
  stage?: string
}

export interface EvidenceExport {
  id: string
  caseNumber: string
  reason: string
  requestedByName: string
  requestedAt: string
  items: ExportItem[]
  status: ExportStatus
  progress: ExportProgress
  bytes: number | null
  sha256: string | null
  error: string | null
  errorCode: string | null
  finishedAt: string | null
  gaps: ExportGap[]
  delivered: DeliveredRange[] | null
}

export interface NewExport {
  caseNumber: string
  reason: string
  items: { deviceId: string; from: string; to: string }[]
  snapshotIds?: string[]
}

export interface ExportQuery {
  /** Only the exports the signed-in user asked for. */
  mine?: boolean
  page: number
  pageSize: number
}

export interface PublicKey {
  algorithm: string
  publicKeyPem: string
  fingerprint: string
}

export async function createExport(req: NewExport): Promise<EvidenceExport> {
  return (await http.post<{ export: EvidenceExport }>('/exports', req)).export
}

export function listExports(query: ExportQuery, signal?: AbortSignal): Promise<Page<EvidenceExport>> {
  return http.get<Page<EvidenceExport>>('/exports', { query: { ...query }, signal })
}

export function getExport(id: string, signal?: AbortSignal): Promise<EvidenceExport> {
  return http.get<EvidenceExport>(`/exports/${seg(id)}`, { signal })
}

/** A short-lived link to the package (each call is audited on the server). */
export function downloadExport(id: string): Promise<{ url: string; expiresAt: string }> {
  return http.post<{ url: string; expiresAt: string }>(`/exports/${seg(id)}/download`, {})
}

/** The key packages are signed with: `skynet verify` checks a package against it offline. */
export function getPublicKey(): Promise<PublicKey> {
  return http.get<PublicKey>('/evidence/public-key')
}
