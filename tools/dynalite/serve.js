#!/usr/bin/env node
// serve.js runs dynalite for surge's tests, with what the pinned dynalite
// lacks and surge's DynamoDB store uses, added in the way DynamoDB does it:
//
//   - TransactWriteItems with Put, Delete and ConditionCheck (not Update):
//     all conditions are checked under the items' locks, and then every write
//     is applied, or none is and the answer is a TransactionCanceledException
//     with one CancellationReason per item (ReturnValuesOnConditionCheckFailure
//     ALL_OLD puts the item in its reason);
//   - ReturnValuesOnConditionCheckFailure on PutItem, UpdateItem and DeleteItem;
//   - UpdateTimeToLive, remembered for DescribeTimeToLive (expired items are
//     not deleted: surge treats them as absent itself, as it must on AWS too,
//     where deletion lags expiry).
//
// It listens on 127.0.0.1 at --port (0, the default, picks a free port),
// prints "dynalite listening on PORT" once it accepts connections, and exits
// when its standard input closes, so that it never outlives the test process
// that started it, however that process ends.
'use strict'

const path = require('path')
const dynalite = require('dynalite')
const db = require('dynalite/db')
const validations = require('dynalite/validations')

// dynalite's own dependencies, wherever npm put them (beside it or inside
// it), so that NODE_PATH may point at any installed dynalite.
function dep (name) {
  return require(require.resolve(name, { paths: [ path.dirname(require.resolve('dynalite')) ] }))
}
const crc32 = dep('buffer-crc32')
const argv = dep('minimist')(process.argv.slice(2))

// Keep a handle on dynalite's store: dynalite() creates it through db.create.
let store
const create = db.create
db.create = function (options) {
  store = create(options)
  return store
}

// ReturnValuesOnConditionCheckFailure: let the parameter through dynalite's
// type check, and put the existing item in the ConditionalCheckFailedException.
const rvField = { type: 'String', enum: [ 'ALL_OLD', 'NONE' ] }
for (const action of [ 'putItem', 'updateItem', 'deleteItem' ]) {
  require('dynalite/validations/' + action).types.ReturnValuesOnConditionCheckFailure = rvField
}
const checkConditional = db.checkConditional
db.checkConditional = function (data, existingItem) {
  const err = checkConditional(data, existingItem)
  if (err && existingItem && data.ReturnValuesOnConditionCheckFailure == 'ALL_OLD') {
    err.body.Item = existingItem
  }
  return err
}

const server = dynalite({
  createTableMs: num(argv.createTableMs, 0),
  deleteTableMs: num(argv.deleteTableMs, 0),
  updateTableMs: num(argv.updateTableMs, 0),
})

function num (v, dflt) {
  return v == null ? dflt : Number(v)
}

// Route the operations added here to their handlers, the rest to dynalite.
const dynaliteHandler = server.listeners('request')[0]
server.removeAllListeners('request')
const extra = {
  TransactWriteItems: transactWriteItems,
  UpdateTimeToLive: updateTimeToLive,
  DescribeTimeToLive: describeTimeToLive,
}
server.on('request', function (req, res) {
  const target = String(req.headers['x-amz-target'] || '').split('.')
  const handler = req.method == 'POST' && target.length == 2 && extra[target[1]]
  if (!handler) return dynaliteHandler(req, res)
  readJSON(req, res, function (data) {
    handler(data, function (err, out) {
      if (err && err.statusCode) return send(res, err.statusCode, err.body)
      if (err) return send(res, 500, { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: String(err) })
      send(res, 200, out)
    })
  })
})

function readJSON (req, res, cb) {
  const chunks = []
  req.on('data', function (c) { chunks.push(c) })
  req.on('end', function () {
    let data
    try {
      data = JSON.parse(Buffer.concat(chunks).toString() || 'null')
    }
    catch {
      return send(res, 400, { __type: 'com.amazon.coral.service#SerializationException' })
    }
    if (data == null || typeof data != 'object') {
      return send(res, 400, { __type: 'com.amazon.coral.service#SerializationException' })
    }
    cb(data)
  })
}

function send (res, status, body) {
  const text = JSON.stringify(body)
  res.statusCode = status
  res.setHeader('x-amzn-RequestId', 'surge-dynalite-' + Date.now())
  res.setHeader('x-amz-crc32', crc32.unsigned(text))
  res.setHeader('Content-Type', 'application/x-amz-json-1.0')
  res.setHeader('Content-Length', Buffer.byteLength(text, 'utf8'))
  res.end(text)
}

function validationError (msg) {
  return db.validationError(msg)
}

// validateAs checks a transaction's operation as the single-item action it
// mirrors, with dynalite's own validation, and returns the checked copy.
function validateAs (action, data) {
  const v = require('dynalite/validations/' + action)
  const checked = validations.checkTypes(data, v.types)
  validations.checkValidations(checked, v.types, v.custom, store)
  return checked
}

const ttlSpecs = new Map()

function updateTimeToLive (data, cb) {
  const spec = data.TimeToLiveSpecification
  if (typeof data.TableName != 'string' || !spec || typeof spec.AttributeName != 'string' ||
      spec.AttributeName == '' || typeof spec.Enabled != 'boolean') {
    return cb(validationError('TableName and TimeToLiveSpecification {AttributeName, Enabled} are required'))
  }
  store.getTable(data.TableName, false, function (err) {
    if (err) return cb(err)
    ttlSpecs.set(data.TableName, { AttributeName: spec.AttributeName, Enabled: spec.Enabled })
    cb(null, { TimeToLiveSpecification: { AttributeName: spec.AttributeName, Enabled: spec.Enabled } })
  })
}

function describeTimeToLive (data, cb) {
  if (typeof data.TableName != 'string') return cb(validationError('TableName is required'))
  store.getTable(data.TableName, false, function (err) {
    if (err) return cb(err)
    const spec = ttlSpecs.get(data.TableName)
    if (!spec || !spec.Enabled) return cb(null, { TimeToLiveDescription: { TimeToLiveStatus: 'DISABLED' } })
    cb(null, { TimeToLiveDescription: { TimeToLiveStatus: 'ENABLED', AttributeName: spec.AttributeName } })
  })
}

// transactWriteItems applies Put, Delete and ConditionCheck operations all
// or none, as DynamoDB's TransactWriteItems does.
function transactWriteItems (data, cb) {
  const list = data.TransactItems
  if (!Array.isArray(list) || list.length < 1 || list.length > 100) {
    return cb(validationError('1 validation error detected: Value at \'transactItems\' failed to satisfy constraint: ' +
      'Member must have length less than or equal to 100 and greater than or equal to 1'))
  }
  const ops = []
  try {
    for (const entry of list) {
      const kinds = Object.keys(entry || {}).filter(function (k) { return entry[k] != null })
      if (kinds.length != 1) {
        throw validationError('TransactItems can only contain one of Check, Put, Update or Delete')
      }
      const kind = kinds[0], body = Object.assign({}, entry[kind])
      switch (kind) {
      case 'Put':
        ops.push({ kind: kind, data: validateAs('putItem', body) })
        break
      case 'Delete':
        ops.push({ kind: kind, data: validateAs('deleteItem', body) })
        break
      case 'ConditionCheck':
        if (!body.ConditionExpression) throw validationError('ConditionCheck requires a ConditionExpression')
        ops.push({ kind: kind, data: validateAs('deleteItem', body) })
        break
      case 'Update':
        throw validationError('This test engine does not support Update in TransactWriteItems')
      default:
        throw validationError('Unknown transaction operation ' + kind)
      }
    }
  }
  catch (err) {
    if (err.statusCode) return cb(err)
    throw err
  }

  // Resolve tables and keys.
  let pending = ops.length, failed = null
  ops.forEach(function (op) {
    store.getTable(op.data.TableName, function (err, table) {
      if (failed) return
      if (err) {
        failed = err
        return cb(err)
      }
      const keyed = op.kind == 'Put' ? op.data.Item : op.data.Key
      const invalid = op.kind == 'Put' ? db.validateItem(keyed, table) : db.validateKey(keyed, table)
      if (invalid) {
        failed = invalid
        return cb(invalid)
      }
      op.table = table
      op.key = db.createKey(keyed, table)
      if (--pending == 0) run()
    })
  })

  function run () {
    const seen = new Set()
    for (const op of ops) {
      const id = op.data.TableName + '\u0000' + op.key
      if (seen.has(id)) return cb(validationError('Transaction request cannot include multiple operations on one item'))
      seen.add(id)
    }
    // Lock the keys table by table, tables in name order, so that two
    // transactions never wait for each other.
    const byTable = new Map()
    for (const op of ops) {
      if (!byTable.has(op.data.TableName)) byTable.set(op.data.TableName, [])
      byTable.get(op.data.TableName).push(op.key)
    }
    const tables = Array.from(byTable.keys()).sort()
    const releases = []
    function lockNext (i) {
      if (i == tables.length) return locked()
      store.getItemDb(tables[i]).lock(byTable.get(tables[i]), function (release) {
        releases.push(release)
        lockNext(i + 1)
      })
    }
    function done (err, out) {
      let finish = function () { cb(err, out) }
      for (const release of releases) finish = release(finish)
      finish()
    }
    function locked () {
      let left = ops.length
      ops.forEach(function (op) {
        store.getItemDb(op.data.TableName).get(op.key, function (err, existing) {
          if (err && err.name != 'NotFoundError') op.err = err
          op.existing = err ? undefined : existing
          if (--left == 0) check()
        })
      })
    }
    function check () {
      const broken = ops.find(function (op) { return op.err })
      if (broken) return done(broken.err)
      let cancelled = false
      const reasons = ops.map(function (op) {
        const bad = checkConditional(op.data, op.existing)
        if (!bad) return { Code: 'None' }
        cancelled = true
        const reason = { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' }
        if (op.existing && op.data.ReturnValuesOnConditionCheckFailure == 'ALL_OLD') reason.Item = op.existing
        return reason
      })
      if (cancelled) {
        const err = new Error('transaction cancelled')
        err.statusCode = 400
        err.body = {
          __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
          Message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [' +
            reasons.map(function (r) { return r.Code }).join(', ') + ']',
          CancellationReasons: reasons,
        }
        return done(err)
      }
      apply(0)
    }
    function apply (i) {
      if (i == ops.length) return done(null, {})
      const op = ops[i]
      if (op.kind == 'ConditionCheck') return apply(i + 1)
      const itemDb = store.getItemDb(op.data.TableName)
      const item = op.kind == 'Put' ? op.data.Item : null
      db.updateIndexes(store, op.table, op.existing, item, function (err) {
        if (err) return done(err)
        const next = function (err) {
          if (err) return done(err)
          apply(i + 1)
        }
        if (item) itemDb.put(op.key, item, next)
        else itemDb.del(op.key, next)
      })
    }
    lockNext(0)
  }
}

// Never outlive the process that started us: it holds our standard input.
process.stdin.on('end', function () { process.exit(0) })
process.stdin.on('error', function () { process.exit(0) })
process.stdin.resume()
process.on('SIGTERM', function () { process.exit(0) })
process.on('SIGINT', function () { process.exit(0) })

server.listen(num(argv.port, 0), '127.0.0.1', function () {
  console.log('dynalite listening on %d', server.address().port)
})
