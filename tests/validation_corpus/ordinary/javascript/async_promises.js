const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function worker(id, jobs) {
  const results = [];
  for (const job of jobs) {
    await sleep(1);
    results.push(`${id}:${job * 2}`);
  }
  return results;
}

(async () => {
  const results = await Promise.all([worker('a', [1, 2]), worker('b', [3])]);
  console.log(results.flat());
  try {
    await Promise.reject(new Error('expected'));
  } catch (err) {
    console.log('caught', err.message);
  } finally {
    queueMicrotask(() => console.log('done'));
  }
})();
