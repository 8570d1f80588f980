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

export const DEMO_CENTER = { lat: 37.0603, lon: 115.6691 };
const CENTER = DEMO_CENTER;
/** The demo platform's site code: when it is in the registry, the demo site is what is loaded. */
export const DEMO_PLATFORM_CODE = 'QH-PLATFORM';

/**
 * The demo town's streets for the offline base layer (console/server/map): six running east–west and
 * six north–south across the ≈3 km the demo devices stand in around CENTER, as [lat, lon] polylines;
 * `width` in metres. The first six names run east–west, the rest north–south.
 */
export const DEMO_ROADS: readonly { name: string; width: number; path: readonly (readonly [number, number])[] }[] = [
  { name: '人民路', width: 24, path: [[37.0700, 115.6510], [37.0702, 115.6620], [37.0699, 115.6750], [37.0701, 115.6880]] },
  { name: '建设街', width: 16, path: [[37.0655, 115.6515], [37.0656, 115.6640], [37.0654, 115.6760], [37.0655, 115.6875]] },
  { name: '解放路', width: 24, path: [[37.0612, 115.6500], [37.0605, 115.6620], [37.0603, 115.6691], [37.0605, 115.6780], [37.0608, 115.6890]] },
  { name: '长江路', width: 30, path: [[37.0560, 115.6505], [37.0562, 115.6650], [37.0559, 115.6800], [37.0561, 115.6900]] },
  { name: '黄河大道', width: 40, path: [[37.0515, 115.6500], [37.0512, 115.6700], [37.0510, 115.6903]] },
  { name: '朝阳街', width: 14, path: [[37.0475, 115.6540], [37.0478, 115.6690], [37.0476, 115.6860]] },
  { name: '文化路', width: 18, path: [[37.0740, 115.6560], [37.0640, 115.6558], [37.0520, 115.6562], [37.0460, 115.6565]] },
  { name: '迎宾大道', width: 40, path: [[37.0745, 115.6620], [37.0650, 115.6625], [37.0560, 115.6622], [37.0455, 115.6620]] },
  { name: '工业路', width: 24, path: [[37.0740, 115.6691], [37.0603, 115.6691], [37.0512, 115.6693], [37.0455, 115.6695]] },
  { name: '滨河路', width: 16, path: [[37.0748, 115.6735], [37.0680, 115.6750], [37.0600, 115.6748], [37.0520, 115.6760], [37.0450, 115.6770]] },
  { name: '青年路', width: 14, path: [[37.0742, 115.6810], [37.0610, 115.6812], [37.0460, 115.6815]] },
  { name: '光明街', width: 14, path: [[37.0738, 115.6870], [37.0600, 115.6872], [37.0465, 115.6875]] },
];
const ROADS = DEMO_ROADS.map((r) => r.name);

/** The demo town's places (squares, stations, hospital …), each near the crossing it is named by. */
export const DEMO_PLACES: readonly { name: string; lat: number; lon: number }[] = [
  { name: '县政府广场', lat: 37.0628, lon: 115.6668 },
  { name: '火车站广场', lat: 37.0690, lon: 115.6585 },
  { name: '汽车站', lat: 37.0570, lon: 115.6600 },
  { name: '人民医院', lat: 37.0666, lon: 115.6720 },
  { name: '第一中学', lat: 37.0640, lon: 115.6790 },
  { name: '万达商业街', lat: 37.0585, lon: 115.6712 },
  { name: '体育中心', lat: 37.0530, lon: 115.6790 },
  { name: '农贸市场', lat: 37.0623, lon: 115.6590 },
  { name: '开发区管委会', lat: 37.0500, lon: 115.6880 },
  { name: '清河公园', lat: 37.0672, lon: 115.6760 },
];
const PLACES = DEMO_PLACES.map((p) => p.name);
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
