import type { Site } from '../devices/types.ts';

export type { Site };
export type SiteKind = Site['kind'];
export const SITE_KINDS = ['platform', 'area', 'station'] as const satisfies readonly SiteKind[];

/** A site with what uses it: the devices registered to it and the sites directly below it. */
export interface SiteWithUsage extends Site { devices: number; children: number }

export interface SiteInput {
  code: string;
  name: string;
  kind: SiteKind;
  parentId: string | null;
  lat: number | null;
  lon: number | null;
}
