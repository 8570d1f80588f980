/**
 * The demo site used when nothing else is configured: one county town's video
 * private network, with monitoring platforms, street cameras, road checkpoints
 * (卡口), PTZ dome cameras and face channels. The first `live` cameras point at
 * the simulator; the rest stand at loopback addresses nobody answers on, so they
 * show as offline the way part of every real network does.
 */
export interface DemoSite {
  sites: { code: string; name: string; kind: 'platform' | 'area' | 'station'; parent: string | null; lat: number; lon: number }[];
  devices: DemoDevice[];
}

export interface DemoDevice {
  name: string;
  code: string;
  kind: 'camera' | 'checkpoint';
  cameraType: 'fixed' | 'ptz' | 'face' | null;
  site: string;
  lat: number;
  lon: number;
  heading: number;
  address: string;
  tags: string[];
  /** Index into the simulator's cameras, or null for a device nobody simulates. */
  sim: number | null;
}

const CENTER = { lat: 37.0603, lon: 115.6691 };
const ROADS = ['人民路', '建设街', '解放路', '长江路', '黄河大道', '朝阳街', '文化路', '迎宾大道', '工业路', '滨河路', '青年路', '光明街'];
const PLACES = ['县政府广场', '火车站广场', '汽车站', '人民医院', '第一中学', '万达商业街', '体育中心', '农贸市场', '开发区管委会', '清河公园'];
const DIRS = ['东向西', '西向东', '南向北', '北向南'];

/** A national-style 20-digit code: area 130534 (county), type 131 (camera) / 121 (checkpoint), serial. */
function code(type: '131' | '121', serial: number): string {
  return `13053400001${type}${String(serial).padStart(6, '0')}`;
}

export function demoSite(live: number): DemoSite {
  const sites: DemoSite['sites'] = [
    { code: 'QH-PLATFORM', name: '清河县公安局视频专网平台', kind: 'platform', parent: null, ...CENTER },
    { code: 'QH-CG', name: '城关派出所', kind: 'area', parent: 'QH-PLATFORM', lat: 37.0631, lon: 115.6652 },
    { code: 'QH-KFQ', name: '开发区派出所', kind: 'area', parent: 'QH-PLATFORM', lat: 37.0512, lon: 115.6903 },
    { code: 'QH-JJ', name: '交警大队', kind: 'area', parent: 'QH-PLATFORM', lat: 37.0577, lon: 115.6748 },
  ];
  const devices: DemoDevice[] = [];
  let serial = 1;
  let sim = 0;
  const nextSim = () => (sim < live ? sim++ : null);
  // Deterministic scatter around the town centre (≈3 km across).
  const spot = (i: number) => ({
    lat: +(CENTER.lat + Math.sin(i * 2.399) * 0.012 * Math.sqrt((i % 17) / 17 + 0.1)).toFixed(6),
    lon: +(CENTER.lon + Math.cos(i * 2.399) * 0.015 * Math.sqrt((i % 13) / 13 + 0.1)).toFixed(6),
  });

  PLACES.slice(0, 6).forEach((place, i) => {
    devices.push({ name: `${place}高点球机`, code: code('131', serial++), kind: 'camera', cameraType: 'ptz', site: i % 2 ? 'QH-KFQ' : 'QH-CG',
      ...spot(devices.length), heading: 0, address: `清河县${place}`, tags: ['高点', '重点部位'], sim: nextSim() });
  });
  ['火车站进站口', '汽车站候车厅', '人民医院门诊楼', '万达商业街北口'].forEach((place, i) => {
    devices.push({ name: `${place}人脸抓拍-${String(i + 1).padStart(2, '0')}`, code: code('131', serial++), kind: 'camera', cameraType: 'face',
      site: 'QH-CG', ...spot(devices.length), heading: (i * 90) % 360, address: `清河县${place}`, tags: ['人脸', '重点部位'], sim: nextSim() });
  });
  for (let i = 0; i < 40; i++) {
    const a = ROADS[i % ROADS.length]!;
    const b = ROADS[(i + 1 + Math.floor(i / ROADS.length)) % ROADS.length]!; // every pair distinct
    const dir = DIRS[i % 4]!;
    devices.push({ name: `${a}与${b}交叉口-${dir}`, code: code('131', serial++), kind: 'camera', cameraType: 'fixed',
      site: i % 3 === 0 ? 'QH-KFQ' : 'QH-CG', ...spot(devices.length), heading: [270, 90, 0, 180][i % 4]!,
      address: `清河县${a}与${b}交叉口`, tags: i % 5 === 0 ? ['治安卡点'] : [], sim: nextSim() });
  }
  ['S324省道清河收费站', 'G308国道东出口', 'G308国道西出口', '青银高速清河出口', '黄河大道南出城口', '开发区北门', '长江路跨河大桥', '迎宾大道入城口']
    .forEach((place, i) => {
      devices.push({ name: `${place}卡口`, code: code('121', i + 1), kind: 'checkpoint', cameraType: null, site: 'QH-JJ',
        ...spot(devices.length + 100), heading: i % 2 ? 90 : 270, address: `清河县${place}`, tags: ['卡口', '出入城'], sim: null });
    });
  return { sites, devices };
}
