// Codes of the wall feature (see README.md beside this file), issue 9: layouts and tours.
export const zhCN = {
  wall: {
    user_required: '视频墙布局只属于用户账号，API 令牌不能保存或读取',
    tile_outside_grid: '第 {index} 号画面超出了 {grid} 画面布局',
    tile_repeated: '第 {index} 号画面重复出现',
    not_cameras: '有 {count} 个设备不是在用的摄像机（如 {first}）',
    name_blank: '名称不能为空',
    too_many_layouts: '每人最多保存 {max} 个布局，请先删除不用的布局',
    layout_not_found: '布局“{name}”不存在',
    tour_not_found: '该轮巡不存在或已被删除',
    tour_name_taken: '已有名为“{name}”的轮巡',
  },
}

export const en: typeof zhCN = {
  wall: {
    user_required: 'Wall layouts belong to user accounts; an API token cannot save or read them',
    tile_outside_grid: 'Tile {index} is outside a {grid}-tile layout',
    tile_repeated: 'Tile {index} appears twice',
    not_cameras: '{count} of the devices are not cameras in service (e.g. {first})',
    name_blank: 'The name must not be blank',
    too_many_layouts: 'At most {max} layouts per person: delete one you no longer use first',
    layout_not_found: 'There is no layout named “{name}”',
    tour_not_found: 'This tour does not exist or was deleted',
    tour_name_taken: 'A tour named “{name}” exists already',
  },
}
