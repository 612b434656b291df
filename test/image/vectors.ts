/**
 * A chunk blob written by the zstd encoder the image code used before native zstd (@bokuweb/zstd-wasm,
 * one-shot ZSTD_compress at level 3: a frame that declares its content size, several blocks). Stores
 * written then must stay readable. Plaintext: 300 KiB, byte i = (i % 97) ^ ((i >> 14) * 13).
 */
export const WASM_ERA_CHUNK = {
  id: '1710241a953e7cefdac2bba82de387c992fd1e1c3ca9628e59b7ebb697eaee3d',
  plainBlake3: 'd65dd11cd44b5875ed811f3dcc31287831d826a53eb1c7b1722a4c06c0602fe3',
  size: 300 * 1024,
  blob: Buffer.from(
  'WgEBKLUv/aAAsAQAPBkAhDAAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/QEFCQ0RFRkdI' +
  'SUpLTE1OT1BRUlNUVVZXWFlaW1xdXl9gVVRXVlFQU1JtDQwPDgkICwoFBAcGAQADAh0cHx4ZGBsaFRQXFhEQExItLC8uKSgrKiUkJyYhICMiPTw/Pjk4Ozo1' +
  'NDc2MTAzMk1MT05JSEtKRURHRkFAQ0JdXF9eWVhbWlVKS0hJTk9MTUJDQEFGR0RFehobGBkeHxwdEhMQERYXFBUKCwgJDg8MDQIDAAEGBwQFOjs4OT4/PD0y' +
  'MzAxNjc0NSorKCkuLywtIiMgISYnJCVaW1hZXl9cXVJTUFFWV1RhYG9ubWxramlod3Z1dHNycXB/fn18e3p5eEcnJiUkIyIhIC8uLSwrKikoNzY1NDMyMTA/' +
  'Pj08Ozo5OAcGBQQDAgEADw4NDAsKCQgXFhUUExIREB8eHRwbGhkYZ2ZlZGNiCQoLdHV2d3BxcnN8fX5/eHl6e2RlZmdgYWJjbG1ub2hpamtUNDU2NzAxMjM8' +
  'PT4/ODk6OyQlJicgISIjLC0uLygpKisUFRYXEBESExwdHh8YGRobBAUGBwABAgMMDQ4PCHV0d3Z5eHt6fXx/fgEAAwIFBAcGCQgLCg0MDw4REBMSFRQXFhkY' +
  'GxodHB8eIUFAQ0JFREdGSUhLSk1MT05RUFNSVVRXVllYW1pdXF9eYWBjYmVkZ2ZpaGtqbWxvbnFwc3JlYmNgYX5/fH16e3h5dnd0dXJzcHEODwwNCgsICQYH' +
  'BAUCAwABHh8cHRobGBkWFxQVEhMQES5OT0xNSktISUZHREVCQ0BBXl9cXVpbWFlWV1RVUlNQUW5vbG1qa2hpZmdkeXh/fn18c3JxcHd2dXRramlob25tbGNi' +
  'YWBnZmVkGxoZGB8eHRwTEhEQFxYVFAsKCQgPDg0MAwIBAAcGBQQ7W1pZWF9eXVxTUlFQV1ZVVEtKSUhPTk1MQ0JBQEdGRUR7eghEGTEh5wch5wch5wch5wch' +
  '5wch5wch54eQ85MhLAQAJARxcnN0dXZ3CGhpamtsbW5vYGFiY2RlZmd4eXp7fH1+f3BlZGdmYWBjYm1sb25paGtqFXV0d3ZxcHNyfXx/fnl4e3oSADk/GfiK' +
  'AIgPJADEBwIA4gP5f/1A/F8/kP7XD4T/9QMmAMS75Pwk5gOegRcSAOIDAQDxAXgAHkj/6weE/19tBBwZAIQwhYqLiImOj4yNkpOQkZaXlJWam5iZnp+cnaKj' +
  'oKGmp6Slqquoqa6vrK2ys7Cxtre0tbq7uLm+v7y9wsPAwcbHxMXKy8jJzs/MzdLT0NHW19TV2tvY2d7f3N3igoOAgYaHhNDvj46NjIuKiYiHhoWEg4KBgJ+e' +
  'nZybmpmYl5aVlJOSkZCvrq2sq6qpqKempaSjoqGgv769vLu6ubi3trW0s7KxsM/OzczLysnIx8bFxMPCwcDf3t3c29rZ2NfW1dTT0tHKy8TFxsfAwcLD/Jyd' +
  'np+YmZqblJWWl5CRkpOMjY6PiImKi4SFhoeAgYKDvL2+v7i5uru0tba3sLGys6ytrq+oqaqrpKWmp6ChoqPc3d7f2Nna29TV1tfQ0dLTzM3Oz8jJ5Ofm+fj7' +
  '+v38//7x8PPy9fT39smpqKuqrayvrqGgo6KlpKemubi7ur28v76xsLOytbS3tomIi4qNjI+OgYCDgoWEh4aZmJuanZyfnpGQk5KVlJeW6ejr6u3s7+7h4OPi' +
  '5fLz8PH+//z9+vv4+ebn5OXi4+Dh7u/s7err6OnWtre0tbKzsLG+v7y9uru4uaanpKWio6Chrq+sraqrqKmWl5SVkpOQkZ6fnJ2am5iZhoeEhYKDgIGOj4yN' +
  'iouIifb39PX4//79/IOCgYCHhoWEi4qJiI+OjYyTkpGQl5aVlJuamZifnp2co8PCwcDHxsXEy8rJyM/OzczT0tHQ19bV1Nva2djf3t3c4+Lh4Ofm5eTr6uno' +
  '7+7t7PPy8fD39vX0+/r54uPk5ebn6Onq6+zt7u+QkZKTlJWWl5iZmpucnZ6fgIGCg4SFhoeIiYqLjI2Oj7DQ0dLT1NXW19jZ2tvc3d7fwMHCw8TFxsfIycrL' +
  'zM3Oz/Dx8vP09fb3+Pn6+/z9/v/g4fT39vHw8/Lt7O/u6ejr6uXk5+bh4OPinZyfnpmYm5qVlJeWkZCTko2Mj46JiIuKhYSHhoGAg4K93dzf3tnY29rV1NfW' +
  '0dDT0s3Mz87JyMvKxcTHxsHAw8L9/P/++fj7+vUIVBkAMSHnDzl/yPlDzh9y/pDzh5w/5PwBDQIAFAKK6uvo6e7v7O3i4+Dh5ufk5fr7+Pn+//z98vPw8fb3' +
  '9PUJAOF8ZOAPHoAHEgDiAwEA8QF4AB5I/+sHwv+vBgI=',
    'base64',
  ),
};

export function wasmEraPlain(): Uint8Array {
  const plain = new Uint8Array(WASM_ERA_CHUNK.size);
  for (let i = 0; i < plain.length; i++) plain[i] = (i % 97) ^ ((i >> 14) * 13);
  return plain;
}

/**
 * The same plaintext as sealed today (libzstd 1.5.7 one-shot frames at level 2, since 2026-12-02):
 * its id pins the encoder, since a different frame for the same bytes costs dedup with every chunk
 * stored before (SPEC.md §4).
 */
export const LEVEL2_CHUNK = { id: 'aab91b48caf00b0ac6b2e4c96575261304ded4813b9a17bae0451a5b4e8915db', blobBytes: 1832 };

/**
 * The same plaintext as sealed by the encoder used between zstd-wasm and zstd-napi
 * (@toondepauw/node-zstd 2.0.0: libzstd through Rust's zstd crate, a streaming frame at level 3 that
 * declares no content size). Stores written then must stay readable.
 */
export const NODE_ZSTD_ERA_CHUNK = {
  id: 'ffd8166c7e83a69920a50b1979e64af720c0fe5201934eb7e1208eebbfa4b532',
  size: WASM_ERA_CHUNK.size,
  blob: Buffer.from(
    'WgEBKLUv/QBYPBkAhDAAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/QEFCQ0RFRkdISUpL' +
    'TE1OT1BRUlNUVVZXWFlaW1xdXl9gVVRXVlFQU1JtDQwPDgkICwoFBAcGAQADAh0cHx4ZGBsaFRQXFhEQExItLC8uKSgrKiUkJyYhICMiPTw/Pjk4Ozo1NDc2' +
    'MTAzMk1MT05JSEtKRURHRkFAQ0JdXF9eWVhbWlVKS0hJTk9MTUJDQEFGR0RFehobGBkeHxwdEhMQERYXFBUKCwgJDg8MDQIDAAEGBwQFOjs4OT4/PD0yMzAx' +
    'Njc0NSorKCkuLywtIiMgISYnJCVaW1hZXl9cXVJTUFFWV1RhYG9ubWxramlod3Z1dHNycXB/fn18e3p5eEcnJiUkIyIhIC8uLSwrKikoNzY1NDMyMTA/Pj08' +
    'Ozo5OAcGBQQDAgEADw4NDAsKCQgXFhUUExIREB8eHRwbGhkYZ2ZlZGNiCQoLdHV2d3BxcnN8fX5/eHl6e2RlZmdgYWJjbG1ub2hpamtUNDU2NzAxMjM8PT4/' +
    'ODk6OyQlJicgISIjLC0uLygpKisUFRYXEBESExwdHh8YGRobBAUGBwABAgMMDQ4PCHV0d3Z5eHt6fXx/fgEAAwIFBAcGCQgLCg0MDw4REBMSFRQXFhkYGxod' +
    'HB8eIUFAQ0JFREdGSUhLSk1MT05RUFNSVVRXVllYW1pdXF9eYWBjYmVkZ2ZpaGtqbWxvbnFwc3JlYmNgYX5/fH16e3h5dnd0dXJzcHEODwwNCgsICQYHBAUC' +
    'AwABHh8cHRobGBkWFxQVEhMQES5OT0xNSktISUZHREVCQ0BBXl9cXVpbWFlWV1RVUlNQUW5vbG1qa2hpZmdkeXh/fn18c3JxcHd2dXRramlob25tbGNiYWBn' +
    'ZmVkGxoZGB8eHRwTEhEQFxYVFAsKCQgPDg0MAwIBAAcGBQQ7W1pZWF9eXVxTUlFQV1ZVVEtKSUhPTk1MQ0JBQEdGRUR7eghEGTEh5wch5wch5wch5wch5wch' +
    '5wch54eQ85MhLAQAJARxcnN0dXZ3CGhpamtsbW5vYGFiY2RlZmd4eXp7fH1+f3BlZGdmYWBjYm1sb25paGtqFXV0d3ZxcHNyfXx/fnl4e3oSADk/GfiKAIgP' +
    'JADEBwIA4gP5f/1A/F8/kP7XD4T/9QMmAMS75Pwk5gOegRcSAOIDAQDxAXgAHkj/6weE/19tBOQSAGQkhYqLiImOj4yNkpOQkZaXlJWam5iZnp+cnaKjoKGm' +
    'p6Slqquoqa6vrK2ys7Cxtre0tbq7uLm+v7y9wsPAwcbHxMXKy8jJzs/MzdLT0NHW19TV2tvY2d7f3N3igoOAgYaHhNDvj46NjIuKiYiHhoWEg4KBgJ+enZyb' +
    'mpmYl5aVlJOSkZCvrq2sq6qpqKempaSjoqGgv769vLu6ubi3trW0s7KxsM/OzczLysnIx8bFxMPCwcDf3t3c29rZ2NfW1dTT0tHKy8TFxsfAwcLD/Jydnp+Y' +
    'mZqblJWWl5CRkpOMjY6PiImKi4SFhoeAgYKDvL2+v7i5uru0tba3sLGys6ytrq+oqaqrpKWmp6ChoqPc3d7f2Nna29TV1tfQ0dLTzM3Oz8jJ5Ofm+fj7+v38' +
    '//7x8PPy9fT39smpqKuqrayvrqGgo6KlpKemubi7ur28v76xsLOytbS3tomIi4qNjI+OgYCDgoWEh4aZmJuanZyfnpGQk5KVlJeW6ejr6u3s7+7h4OPi5fLz' +
    '8PH+//z9+vv4+ebn5OXi4+Dh7u/s7err6OnWtre0tbKzsLG+v7y9uru4uaanpKWio6Chrq+sraqrqKmWl5SVkpOQkZ6fnJ2am5iZhoeEhYKDgIGOj4yNiouI' +
    'ifb39PX4//79/IOCgYCHhoWEi4qJiI+OjYyTkpGQl5aVlJuamZifnp2co8PCwcDHxsXEy8rJyM/OzczT0tHQ19bV1Nva2djf3t3c4+Lh4Ofm5eTr6uno7+7t' +
    '7PPy8fD39vX0+/r5BlQZADEh5w85f8j5Q84fcv6Q8wddCAA0DuLj5OXm5+jp6uvs7e7vkJGSk5SVlpeYmZqbnJ2en4CBgoOEhYaHiImKi4yNjo+w0NHS09TV' +
    '1tfY2drb3N3e38DBwsPExcbHyMnKy8zNzs/w8fLz9PX29/j5+vv8/f7/4OH09/bx8PPy7ezv7uno6+rl5Ofm4eDj4p2cn56ZmJualZSXlpGQk5KNjI+OiYiL' +
    'ioWEh4aBgIOCvd3c397Z2Nva1dTX1tHQ09LNzM/OycjLysXEx8bBwMPC/fz//vn4+/r1iurr6Onu7+zt4uPg4ebn5OX6+/j5/v/8/fLz8PH29/T1CwDhfGTg' +
    'Dx6ABxIA4gMBAPEBeAAeSP/rB8L/+oWQ8wPehJyfB1E=',
    'base64',
  ),
};
