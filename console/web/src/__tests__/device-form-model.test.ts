// Pure conversions of the device form; runs in node (no DOM needed).
import { describe, expect, it } from 'vitest'
import { applyProbe, emptyForm, formFromDevice, formToInput, propForField } from '../components/device-form-model.ts'
import type { Device } from '../api/devices.ts'

const device: Device = {
  id: 'd1',
  kind: 'camera',
  cameraType: 'ptz',
  name: '人民路口球机',
  code: 'C1',
  siteId: 's1',
  siteName: '西湖分局',
  address: null,
  location: { lat: 30.1, lon: 120.2, heading: null },
  tags: ['路口'],
  onvif: { host: '10.0.0.5', port: 8000, username: 'admin', hasPassword: true },
  streams: { main: 'rtsp://10.0.0.5/main', sub: null, snapshot: null },
  profiles: [],
  vendor: 'Hik',
  model: 'X',
  serial: null,
  firmware: null,
  ptz: true,
  recording: { mode: 'event', retentionDays: 7 },
  enabled: true,
  status: { state: 'online', reason: null, lastSeenAt: null, checkedAt: null },
  createdAt: '2026-01-01T00:00:00Z',
  updatedAt: '2026-01-01T00:00:00Z',
  decommissionedAt: null,
}

describe('formToInput', () => {
  it('turns blanks into nulls and leaves the password out when empty', () => {
    const m = emptyForm()
    m.name = '  东门枪机 '
    m.onvifHost = '10.0.0.9'
    m.username = 'admin'
    const input = formToInput(m)
    expect(input.name).toBe('东门枪机')
    expect(input.code).toBeNull()
    expect(input.address).toBeNull()
    expect(input.location).toBeNull()
    expect(input.streams).toEqual({ main: null, sub: null, snapshot: null })
    expect(input.onvif).toEqual({ host: '10.0.0.9', port: 80, username: 'admin' })
    expect(input).not.toHaveProperty('vendor')
  })

  it('sends a location only when latitude and longitude are both set', () => {
    const m = emptyForm()
    m.lat = 30
    expect(formToInput(m).location).toBeNull()
    m.lon = 120
    m.heading = 45
    expect(formToInput(m).location).toEqual({ lat: 30, lon: 120, heading: 45 })
  })

  it('round-trips an edited device without touching the stored password', () => {
    const m = formFromDevice(device)
    expect(m.password).toBe('')
    expect(m.hasPassword).toBe(true)
    const input = formToInput(m)
    expect(input.onvif).toEqual({ host: '10.0.0.5', port: 8000, username: 'admin' })
    expect(input.location).toEqual({ lat: 30.1, lon: 120.2, heading: null })
    expect(input.recording).toEqual({ mode: 'event', retentionDays: 7 })
    m.password = 'new-secret'
    expect(formToInput(m).onvif?.password).toBe('new-secret')
  })

  it('drops camera-only fields for other kinds', () => {
    const m = emptyForm()
    m.kind = 'mobile'
    m.onvifHost = '10.0.0.1'
    m.ptz = true
    const input = formToInput(m)
    expect(input.cameraType).toBeNull()
    expect(input.onvif).toBeNull()
    expect(input.ptz).toBe(false)
  })
})

describe('applyProbe', () => {
  it('fills URIs, ptz and the probed facts, and upgrades a fixed camera to PTZ', () => {
    const m = emptyForm()
    applyProbe(m, {
      vendor: 'Dahua',
      model: 'SD49',
      serial: 'S',
      firmware: 'F',
      profiles: [{ token: 'p0', name: 'main', encoding: 'H264', width: 1920, height: 1080, rtspUri: 'rtsp://h/m', snapshotUri: null }],
      rtspMain: 'rtsp://h/m',
      rtspSub: null,
      snapshotUri: 'http://h/s.jpg',
      ptz: true,
    })
    expect(m.streamMain).toBe('rtsp://h/m')
    expect(m.snapshot).toBe('http://h/s.jpg')
    expect(m.cameraType).toBe('ptz')
    const input = formToInput(m)
    expect(input.vendor).toBe('Dahua')
    expect(input.profiles).toEqual([{ token: 'p0', name: 'main', encoding: 'H264', width: 1920, height: 1080 }])
  })
})

describe('propForField', () => {
  it('maps server field paths to form items', () => {
    expect(propForField('code')).toBe('code')
    expect(propForField('onvif.host')).toBe('onvifHost')
    expect(propForField('/onvif/port')).toBe('onvifPort')
    expect(propForField('body/location/lat')).toBe('lat')
    expect(propForField('streams.main')).toBe('streamMain')
    expect(propForField('tags.2')).toBe('tags')
    expect(propForField('nonsense')).toBeNull()
  })
})
