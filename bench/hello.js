// The baseline: a bare Fastify hello-world, started by bench/run.js on the given port.
const fastify = require('fastify')();

fastify.get('/', async () => ({ hello: 'world' }));
fastify.listen({ host: '127.0.0.1', port: Number(process.argv[2]) }).then(() => process.send?.('listening'));
