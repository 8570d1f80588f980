import { describe, expect, it } from 'vitest'
import { siteTree } from '../components/site-tree.ts'

const names = (nodes: { name: string; children: unknown[] }[]): unknown[] =>
  nodes.map((n) => (n.children.length ? [n.name, names(n.children as never)] : n.name))

describe('siteTree', () => {
  it('nests sites under their parents, siblings by pinyin in zh-CN', () => {
    const sites = [
      { id: 'c', name: '青年路派出所', parentId: 'd' },
      { id: 'd', name: '长安分局', parentId: 'city' },
      { id: 'city', name: '市局', parentId: null },
      { id: 'e', name: '光明分局', parentId: 'city' },
      { id: 'f', name: '人民路派出所', parentId: 'd' },
      { id: 'orphan', name: '万家派出所', parentId: 'gone' },
    ]
    expect(names(siteTree(sites, 'zh-CN'))).toEqual([
      ['市局', ['光明分局', ['长安分局', ['青年路派出所', '人民路派出所']]]],
      '万家派出所',
    ])
  })

  it('breaks a cycle in parent ids instead of losing or looping over the sites', () => {
    const tree = siteTree([{ id: 'a', name: 'A', parentId: 'b' }, { id: 'b', name: 'B', parentId: 'a' }, { id: 's', name: 'S', parentId: 's' }], 'en')
    expect(names(tree)).toEqual(['A', 'B', 'S'])
  })
})
