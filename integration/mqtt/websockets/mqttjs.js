// MQTT.js (npm "mqtt") in Node against the gateway's MQTT over WebSocket:
//   node mqttjs.js PREFIX CA_FILE URL...
// For each URL (ws:// and wss://, the latter trusting CA_FILE), for MQTT
// 3.1.1 and 5: a subscriber and a publisher, messages at QoS 0, 1 and 2,
// a 200 KB one among them (many frames), checked byte for byte. Then one
// message to PREFIX/ws/cross for the caller to read over TCP and Kafka.
// Exits 0 when every check passed; prints one line per check.
"use strict";
const fs = require("fs");
const mqtt = require("mqtt");

const [prefix, caFile, ...urls] = process.argv.slice(2);
const ca = fs.readFileSync(caFile);

function connect(url, clientId, protocolVersion) {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { clientId, protocolVersion, ca, reconnectPeriod: 0, connectTimeout: 10000 });
    c.once("connect", () => resolve(c));
    c.once("error", reject);
  });
}

async function roundTrip(url, v) {
  const tag = url.split(":")[0] + "-v" + v;
  const topic = `${prefix}/js/${tag}`;
  const sub = await connect(url, `${prefix}-js-sub-${tag}`, v);
  const pub = await connect(url, `${prefix}-js-pub-${tag}`, v);
  const big = Buffer.alloc(200 * 1024, 7);
  const want = [
    ["q0", 0],
    ["q1", 1],
    ["q2", 2],
    [big, 1],
  ];
  const got = [];
  const all = new Promise((resolve) =>
    sub.on("message", (t, payload) => {
      got.push([t, payload]);
      if (got.length === want.length) resolve();
    })
  );
  await sub.subscribeAsync(topic, { qos: 2 });
  for (const [payload, qos] of want) {
    await pub.publishAsync(topic, payload, { qos });
  }
  await Promise.race([all, new Promise((_, reject) => setTimeout(() => reject(new Error(`${tag}: got ${got.length} of ${want.length} messages`)), 10000))]);
  // QoS 0 and 1, 2 may come in any order between levels: compare as sets.
  const key = (p) => (p.length > 100 ? `big:${p.length}:${p.every((b) => b === 7)}` : p.toString());
  const gotKeys = got.map(([t, p]) => { if (t !== topic) throw new Error(`${tag}: message on ${t}`); return key(p); }).sort();
  const wantKeys = want.map(([p]) => key(Buffer.from(p))).sort();
  if (JSON.stringify(gotKeys) !== JSON.stringify(wantKeys)) throw new Error(`${tag}: got ${gotKeys}, want ${wantKeys}`);
  await sub.endAsync();
  await pub.endAsync();
  console.log(`ok   MQTT.js ${tag}: QoS 0/1/2 and a 200 KB message round trip`);
}

async function main() {
  for (const url of urls) {
    for (const v of [4, 5]) {
      await roundTrip(url, v);
    }
  }
  const pub = await connect(urls[0], `${prefix}-js-cross`, 4);
  await pub.publishAsync(`${prefix}/ws/cross`, "from MQTT.js over ws", { qos: 1 });
  await pub.endAsync();
  console.log("ok   MQTT.js published to the cross-protocol topic");
}

main().then(
  () => process.exit(0),
  (e) => {
    console.log("FAIL MQTT.js", e && e.stack ? e.stack : e);
    process.exit(1);
  }
);
