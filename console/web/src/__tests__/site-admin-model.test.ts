import { describe, expect, it } from 'vitest'
import type { AdminSite } from '../api/sites.ts'
import { checkSiteForm, descendantsOf, emptySiteForm, matchingWithAncestors, parentChoices, siteInput } from '../components/admin/site-admin-model.ts'

const s = (id: string, kind: AdminSite['kind'], parentId: string | null, name = id): AdminSite =>
  ({ id, code: id.toUpperCase(), name, kind, parentId, lat: null, lon: null, timezone: 'Asia/Shanghai', devices: 0, children: 0 })
const sites = [s('p', 'platform', null, '清河县平台'), s('a', 'area', 'p', '城关派出所'), s('b', 'area', 'p'), s('st', 'station', 'a', '火车站警务站')]

describe('site form', () => {
  it('starts a child one level below its parent', () => {
    expect(emptySiteForm(null).kind).toBe('platform')
    expect(emptySiteForm(sites[0]!)).toMatchObject({ kind: 'area', parentId: 'p' })
    expect(emptySiteForm(sites[1]!)).toMatchObject({ kind: 'station', parentId: 'a' })
  })

  it('checks code, name and coordinates before asking', () => {
    expect(checkSiteForm({ ...emptySiteForm(), code: '', name: ' ' })).toEqual({ code: 'required', name: 'required' })
    expect(checkSiteForm({ ...emptySiteForm(), code: 'bad code', name: 'x' })).toEqual({ code: 'codeHint' })
    expect(checkSiteForm({ ...emptySiteForm(), code: 'A', name: 'x', lat: '91', lon: '0' })).toEqual({ lat: 'rangeHint' })
    expect(checkSiteForm({ ...emptySiteForm(), code: 'A', name: 'x', lat: '37' })).toEqual({ lon: 'pairHint' })
    expect(checkSiteForm({ ...emptySiteForm(), code: 'A', name: 'x', lat: '37.06', lon: '115.66' })).toEqual({})
  })

  it('sends numbers, or null for no location', () => {
    expect(siteInput({ ...emptySiteForm(), code: ' A ', name: ' n ', lat: '37.5', lon: '115' })).toEqual({ code: 'A', name: 'n', kind: 'platform', parentId: null, lat: 37.5, lon: 115 })
    expect(siteInput({ ...emptySiteForm(), code: 'A', name: 'n' })).toMatchObject({ lat: null, lon: null })
  })
})

describe('site tree choices', () => {
  it('never offers the site itself or a site below it as its parent, nor a lower level', () => {
    expect([...descendantsOf(sites, 'a')].sort()).toEqual(['a', 'st'])
    expect(parentChoices(sites, 'area', 'a').map((x) => x.id)).toEqual(['p', 'b'])
    expect(parentChoices(sites, 'platform', null).map((x) => x.id)).toEqual(['p'])
    expect(parentChoices(sites, 'station', null).map((x) => x.id)).toEqual(['p', 'a', 'b', 'st'])
  })

  it('keeps the ancestors of a search hit', () => {
    expect(matchingWithAncestors(sites, '')).toBeNull()
    expect([...matchingWithAncestors(sites, '火车站')!].sort()).toEqual(['a', 'p', 'st'])
    expect([...matchingWithAncestors(sites, 'B')!].sort()).toEqual(['b', 'p'])
  })
})
