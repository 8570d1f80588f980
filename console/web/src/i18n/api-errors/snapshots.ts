// Codes of the snapshots feature (see README.md beside this file): taking a picture through
// the gateway node that holds the camera, and the signed image links.
export const zhCN = {
  snapshot: {
    camera_unreachable: '未能在 {seconds} 秒内从摄像机取得画面（{reason}）',
    camera_auth_failed: '摄像机拒绝了已保存的用户名或密码，无法抓图（{reason}）',
    no_source: '该设备没有可用的视频流地址或抓图地址（{reason}）',
    device_disabled: '设备“{name}”已停用，无法抓图',
    device_decommissioned: '设备“{name}”已退役，无法抓图（已有的抓图仍可查看）',
    bad_frame: '网关返回的不是有效的 JPEG 图片',
    requester_unknown: '{field} 不是已有的用户',
    user_required: '抓图只能由用户账号拍摄和查看',
    token_wrong_snapshot: '该图片链接不适用于这张抓图',
  },
}

export const en: typeof zhCN = {
  snapshot: {
    camera_unreachable: 'The camera gave no picture within {seconds} s ({reason})',
    camera_auth_failed: 'The camera refused its stored user name or password, so no picture was taken ({reason})',
    no_source: 'This device has no usable stream or snapshot URL ({reason})',
    device_disabled: 'Device "{name}" is disabled: no snapshot can be taken',
    device_decommissioned: 'Device "{name}" was decommissioned: no snapshot can be taken (its snapshots stay viewable)',
    bad_frame: 'The gateway did not answer with a valid JPEG picture',
    requester_unknown: '{field} names no user',
    user_required: 'Snapshots are taken and viewed by user accounts only',
    token_wrong_snapshot: 'This image link is for another snapshot',
  },
}
