import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runScore } from '../plugin-harness.ts';
import { makeNode, makePod, testEnv } from '../testing.ts';
import { newImageLocality, normalizedImageName } from './image-locality.ts';

const MB = 1024 * 1024;

describe('ImageLocality (upstream TestImageLocalityPriority)', () => {
  const node1 = makeNode('node1', { images: [{ names: ['gcr.io/40:latest', 'gcr.io/40:v1'], sizeBytes: 40 * MB }, { names: ['gcr.io/300:latest'], sizeBytes: 300 * MB }] });
  const node2 = makeNode('node2', { images: [{ names: ['gcr.io/250:latest'], sizeBytes: 250 * MB }, { names: ['gcr.io/10:latest'], sizeBytes: 10 * MB }] });
  const node3 = makeNode('node3', { images: [{ names: ['gcr.io/2000:latest'], sizeBytes: 2000 * MB }] });
  const pod = (...images: string[]) => makePod('p', { containers: images.map((image) => ({ image })) });

  test('two images spread on two nodes: prefer the larger image (0, 5)', () => {
    const env = testEnv([node1, node2]);
    assert.deepEqual(runScore(newImageLocality({}, env.handle), env.handle, pod('gcr.io/40', 'gcr.io/250')), { node1: 0, node2: 5 });
  });
  test('image scores add up per node, against a threshold that grows with the containers', () => {
    const env = testEnv([node1, node2]);
    // three containers: the maximum is 3000 MB. node1: 40/2 + 300/2 = 170 MB → (170-23)/(3000-23) → 4;
    // node2: 250/2 = 125 MB → (125-23)/2977 → 3
    assert.deepEqual(runScore(newImageLocality({}, env.handle), env.handle, pod('gcr.io/40', 'gcr.io/300', 'gcr.io/250')), { node1: 4, node2: 3 });
  });
  test('a huge image is capped at the per-container maximum', () => {
    const env = testEnv([node1, node2, node3]);
    const got = runScore(newImageLocality({}, env.handle), env.handle, pod('gcr.io/2000'));
    // 2000 MB spread over 1/3 of the nodes = 666 MB: (666-23)/(1000-23) → 65
    assert.deepEqual(got, { node1: 0, node2: 0, node3: 65 });
  });
  test('no node has any of the images: the plugin does not score', () => {
    const env = testEnv([node1, node2]);
    assert.deepEqual(runScore(newImageLocality({}, env.handle), env.handle, pod('example.com/absent:1')), {});
  });
  test('an image without tag or digest means :latest', () => {
    assert.equal(normalizedImageName('gcr.io/40'), 'gcr.io/40:latest');
    assert.equal(normalizedImageName('localhost:5000/app'), 'localhost:5000/app:latest');
    assert.equal(normalizedImageName('nginx:1.27'), 'nginx:1.27');
    assert.equal(normalizedImageName('nginx@sha256:abc'), 'nginx@sha256:abc');
  });
});
