import type { MapDevice } from '../map/types.ts';

export type NearbyKind = 'camera' | 'checkpoint' | 'all';
export type FootageEventKind = 'alarm' | 'snapshot' | 'bookmark' | 'offline';

export interface NearbyCamera { device: MapDevice; distanceMeters: number }

/** A device in a footage answer: a MapDevice whose position may be missing (a camera not placed on the map). */
export type FootageDevice = Omit<MapDevice, 'lat' | 'lon'> & { lat: number | null; lon: number | null };

export interface TimeRange { from: Date; to: Date }

export interface FootageEvent {
  kind: FootageEventKind;
  at: Date;
  /** The end of a bookmark or an offline period; null for an instant, or an offline period still going on. */
  to: Date | null;
  id: string;
  label: string;
}

export interface CameraFootage {
  device: FootageDevice;
  recordedSeconds: number;
  ranges: TimeRange[];
  gaps: TimeRange[];
  events: FootageEvent[];
}

export interface FootageQuery {
  deviceIds?: string[];
  area?: { points: { lat: number; lon: number }[] };
  from: string;
  to: string;
  tags?: string[];
  events?: FootageEventKind[];
  incidentId?: string;
  limit?: number;
}

/** The incident a search was started from: its number is the audited reason. */
export interface IncidentRef { id: string; number: string; lat: number | null; lon: number | null; status: string }

/** Who did something, as a timeline entry names them. */
export interface Actor { id: string | null; name: string }
