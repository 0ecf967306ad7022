package remoting

// Request codes: the Code of a request, as RocketMQ's RequestCode (rocketmq-remoting 5.1.4,
// org.apache.rocketmq.remoting.protocol.RequestCode), without the controller, HA and
// tiered-storage codes that only brokers send each other. Names are Req and the Java name.
const (
	ReqSendMessage                      = 10     // SEND_MESSAGE
	ReqPullMessage                      = 11     // PULL_MESSAGE
	ReqQueryMessage                     = 12     // QUERY_MESSAGE
	ReqQueryBrokerOffset                = 13     // QUERY_BROKER_OFFSET
	ReqQueryConsumerOffset              = 14     // QUERY_CONSUMER_OFFSET
	ReqUpdateConsumerOffset             = 15     // UPDATE_CONSUMER_OFFSET
	ReqUpdateAndCreateTopic             = 17     // UPDATE_AND_CREATE_TOPIC
	ReqGetAllTopicConfig                = 21     // GET_ALL_TOPIC_CONFIG
	ReqGetTopicConfigList               = 22     // GET_TOPIC_CONFIG_LIST
	ReqGetTopicNameList                 = 23     // GET_TOPIC_NAME_LIST
	ReqUpdateBrokerConfig               = 25     // UPDATE_BROKER_CONFIG
	ReqGetBrokerConfig                  = 26     // GET_BROKER_CONFIG
	ReqTriggerDeleteFiles               = 27     // TRIGGER_DELETE_FILES
	ReqGetBrokerRuntimeInfo             = 28     // GET_BROKER_RUNTIME_INFO
	ReqSearchOffsetByTimestamp          = 29     // SEARCH_OFFSET_BY_TIMESTAMP
	ReqGetMaxOffset                     = 30     // GET_MAX_OFFSET
	ReqGetMinOffset                     = 31     // GET_MIN_OFFSET
	ReqGetEarliestMsgStoreTime          = 32     // GET_EARLIEST_MSG_STORETIME
	ReqViewMessageByID                  = 33     // VIEW_MESSAGE_BY_ID
	ReqHeartBeat                        = 34     // HEART_BEAT
	ReqUnregisterClient                 = 35     // UNREGISTER_CLIENT
	ReqConsumerSendMsgBack              = 36     // CONSUMER_SEND_MSG_BACK
	ReqEndTransaction                   = 37     // END_TRANSACTION
	ReqGetConsumerListByGroup           = 38     // GET_CONSUMER_LIST_BY_GROUP
	ReqCheckTransactionState            = 39     // CHECK_TRANSACTION_STATE
	ReqNotifyConsumerIDsChanged         = 40     // NOTIFY_CONSUMER_IDS_CHANGED
	ReqLockBatchMQ                      = 41     // LOCK_BATCH_MQ
	ReqUnlockBatchMQ                    = 42     // UNLOCK_BATCH_MQ
	ReqGetAllConsumerOffset             = 43     // GET_ALL_CONSUMER_OFFSET
	ReqGetAllDelayOffset                = 45     // GET_ALL_DELAY_OFFSET
	ReqCheckClientConfig                = 46     // CHECK_CLIENT_CONFIG
	ReqGetClientConfig                  = 47     // GET_CLIENT_CONFIG
	ReqUpdateAndCreateACLConfig         = 50     // UPDATE_AND_CREATE_ACL_CONFIG
	ReqDeleteACLConfig                  = 51     // DELETE_ACL_CONFIG
	ReqGetBrokerClusterACLInfo          = 52     // GET_BROKER_CLUSTER_ACL_INFO
	ReqUpdateGlobalWhiteAddrsConfig     = 53     // UPDATE_GLOBAL_WHITE_ADDRS_CONFIG
	ReqGetBrokerClusterACLConfig        = 54     // GET_BROKER_CLUSTER_ACL_CONFIG
	ReqPopMessage                       = 200050 // POP_MESSAGE
	ReqAckMessage                       = 200051 // ACK_MESSAGE
	ReqBatchAckMessage                  = 200151 // BATCH_ACK_MESSAGE
	ReqPeekMessage                      = 200052 // PEEK_MESSAGE
	ReqChangeMessageInvisibleTime       = 200053 // CHANGE_MESSAGE_INVISIBLETIME
	ReqNotification                     = 200054 // NOTIFICATION
	ReqPollingInfo                      = 200055 // POLLING_INFO
	ReqPutKVConfig                      = 100    // PUT_KV_CONFIG
	ReqGetKVConfig                      = 101    // GET_KV_CONFIG
	ReqDeleteKVConfig                   = 102    // DELETE_KV_CONFIG
	ReqRegisterBroker                   = 103    // REGISTER_BROKER
	ReqUnregisterBroker                 = 104    // UNREGISTER_BROKER
	ReqGetRouteInfoByTopic              = 105    // GET_ROUTEINFO_BY_TOPIC
	ReqGetBrokerClusterInfo             = 106    // GET_BROKER_CLUSTER_INFO
	ReqUpdateAndCreateSubscriptionGroup = 200    // UPDATE_AND_CREATE_SUBSCRIPTIONGROUP
	ReqGetAllSubscriptionGroupConfig    = 201    // GET_ALL_SUBSCRIPTIONGROUP_CONFIG
	ReqGetTopicStatsInfo                = 202    // GET_TOPIC_STATS_INFO
	ReqGetConsumerConnectionList        = 203    // GET_CONSUMER_CONNECTION_LIST
	ReqGetProducerConnectionList        = 204    // GET_PRODUCER_CONNECTION_LIST
	ReqWipeWritePermOfBroker            = 205    // WIPE_WRITE_PERM_OF_BROKER
	ReqGetAllTopicListFromNameserver    = 206    // GET_ALL_TOPIC_LIST_FROM_NAMESERVER
	ReqDeleteSubscriptionGroup          = 207    // DELETE_SUBSCRIPTIONGROUP
	ReqGetConsumeStats                  = 208    // GET_CONSUME_STATS
	ReqSuspendConsumer                  = 209    // SUSPEND_CONSUMER
	ReqResumeConsumer                   = 210    // RESUME_CONSUMER
	ReqResetConsumerOffsetInConsumer    = 211    // RESET_CONSUMER_OFFSET_IN_CONSUMER
	ReqResetConsumerOffsetInBroker      = 212    // RESET_CONSUMER_OFFSET_IN_BROKER
	ReqAdjustConsumerThreadPool         = 213    // ADJUST_CONSUMER_THREAD_POOL
	ReqWhoConsumeTheMessage             = 214    // WHO_CONSUME_THE_MESSAGE
	ReqDeleteTopicInBroker              = 215    // DELETE_TOPIC_IN_BROKER
	ReqDeleteTopicInNameSrv             = 216    // DELETE_TOPIC_IN_NAMESRV
	ReqRegisterTopicInNameSrv           = 217    // REGISTER_TOPIC_IN_NAMESRV
	ReqGetKVListByNamespace             = 219    // GET_KVLIST_BY_NAMESPACE
	ReqResetConsumerClientOffset        = 220    // RESET_CONSUMER_CLIENT_OFFSET
	ReqGetConsumerStatusFromClient      = 221    // GET_CONSUMER_STATUS_FROM_CLIENT
	ReqInvokeBrokerToResetOffset        = 222    // INVOKE_BROKER_TO_RESET_OFFSET
	ReqInvokeBrokerToGetConsumerStatus  = 223    // INVOKE_BROKER_TO_GET_CONSUMER_STATUS
	ReqQueryTopicConsumeByWho           = 300    // QUERY_TOPIC_CONSUME_BY_WHO
	ReqGetTopicsByCluster               = 224    // GET_TOPICS_BY_CLUSTER
	ReqQueryTopicsByConsumer            = 343    // QUERY_TOPICS_BY_CONSUMER
	ReqQuerySubscriptionByConsumer      = 345    // QUERY_SUBSCRIPTION_BY_CONSUMER
	ReqQueryConsumeTimeSpan             = 303    // QUERY_CONSUME_TIME_SPAN
	ReqGetSystemTopicListFromNS         = 304    // GET_SYSTEM_TOPIC_LIST_FROM_NS
	ReqGetSystemTopicListFromBroker     = 305    // GET_SYSTEM_TOPIC_LIST_FROM_BROKER
	ReqCleanExpiredConsumeQueue         = 306    // CLEAN_EXPIRED_CONSUMEQUEUE
	ReqGetConsumerRunningInfo           = 307    // GET_CONSUMER_RUNNING_INFO
	ReqQueryCorrectionOffset            = 308    // QUERY_CORRECTION_OFFSET
	ReqConsumeMessageDirectly           = 309    // CONSUME_MESSAGE_DIRECTLY
	ReqSendMessageV2                    = 310    // SEND_MESSAGE_V2
	ReqGetUnitTopicList                 = 311    // GET_UNIT_TOPIC_LIST
	ReqGetHasUnitSubTopicList           = 312    // GET_HAS_UNIT_SUB_TOPIC_LIST
	ReqGetHasUnitSubUnunitTopicList     = 313    // GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST
	ReqCloneGroupOffset                 = 314    // CLONE_GROUP_OFFSET
	ReqViewBrokerStatsData              = 315    // VIEW_BROKER_STATS_DATA
	ReqCleanUnusedTopic                 = 316    // CLEAN_UNUSED_TOPIC
	ReqGetBrokerConsumeStats            = 317    // GET_BROKER_CONSUME_STATS
	ReqUpdateNameSrvConfig              = 318    // UPDATE_NAMESRV_CONFIG
	ReqGetNameSrvConfig                 = 319    // GET_NAMESRV_CONFIG
	ReqSendBatchMessage                 = 320    // SEND_BATCH_MESSAGE
	ReqQueryConsumeQueue                = 321    // QUERY_CONSUME_QUEUE
	ReqQueryDataVersion                 = 322    // QUERY_DATA_VERSION
	ReqResumeCheckHalfMessage           = 323    // RESUME_CHECK_HALF_MESSAGE
	ReqSendReplyMessage                 = 324    // SEND_REPLY_MESSAGE
	ReqSendReplyMessageV2               = 325    // SEND_REPLY_MESSAGE_V2
	ReqPushReplyMessageToClient         = 326    // PUSH_REPLY_MESSAGE_TO_CLIENT
	ReqAddWritePermOfBroker             = 327    // ADD_WRITE_PERM_OF_BROKER
	ReqGetTopicConfig                   = 351    // GET_TOPIC_CONFIG
	ReqGetSubscriptionGroupConfig       = 352    // GET_SUBSCRIPTIONGROUP_CONFIG
	ReqUpdateAndGetGroupForbidden       = 353    // UPDATE_AND_GET_GROUP_FORBIDDEN
	ReqLitePullMessage                  = 361    // LITE_PULL_MESSAGE
	ReqQueryAssignment                  = 400    // QUERY_ASSIGNMENT
	ReqSetMessageRequestMode            = 401    // SET_MESSAGE_REQUEST_MODE
	ReqGetAllMessageRequestMode         = 402    // GET_ALL_MESSAGE_REQUEST_MODE
	ReqUpdateAndCreateStaticTopic       = 513    // UPDATE_AND_CREATE_STATIC_TOPIC
	ReqGetAllProducerInfo               = 328    // GET_ALL_PRODUCER_INFO
)

// Response codes: the Code of a response, as RocketMQ's RemotingSysResponseCode (0-4) and
// ResponseCode (rocketmq-remoting 5.1.4, org.apache.rocketmq.remoting.protocol), without the
// controller's and the client-local RPC_* ones. 209-211 are 5.x's POLLING_FULL,
// POLLING_TIMEOUT and BROKER_NOT_EXIST, not 4.x's ACL errors of the same numbers. Names are
// Res and the Java name.
const (
	ResSuccess                    = 0   // SUCCESS
	ResSystemError                = 1   // SYSTEM_ERROR
	ResSystemBusy                 = 2   // SYSTEM_BUSY
	ResRequestCodeNotSupported    = 3   // REQUEST_CODE_NOT_SUPPORTED
	ResTransactionFailed          = 4   // TRANSACTION_FAILED
	ResFlushDiskTimeout           = 10  // FLUSH_DISK_TIMEOUT
	ResSlaveNotAvailable          = 11  // SLAVE_NOT_AVAILABLE
	ResFlushSlaveTimeout          = 12  // FLUSH_SLAVE_TIMEOUT
	ResMessageIllegal             = 13  // MESSAGE_ILLEGAL
	ResServiceNotAvailable        = 14  // SERVICE_NOT_AVAILABLE
	ResVersionNotSupported        = 15  // VERSION_NOT_SUPPORTED
	ResNoPermission               = 16  // NO_PERMISSION
	ResTopicNotExist              = 17  // TOPIC_NOT_EXIST
	ResTopicExistAlready          = 18  // TOPIC_EXIST_ALREADY
	ResPullNotFound               = 19  // PULL_NOT_FOUND
	ResPullRetryImmediately       = 20  // PULL_RETRY_IMMEDIATELY
	ResPullOffsetMoved            = 21  // PULL_OFFSET_MOVED
	ResQueryNotFound              = 22  // QUERY_NOT_FOUND
	ResSubscriptionParseFailed    = 23  // SUBSCRIPTION_PARSE_FAILED
	ResSubscriptionNotExist       = 24  // SUBSCRIPTION_NOT_EXIST
	ResSubscriptionNotLatest      = 25  // SUBSCRIPTION_NOT_LATEST
	ResSubscriptionGroupNotExist  = 26  // SUBSCRIPTION_GROUP_NOT_EXIST
	ResFilterDataNotExist         = 27  // FILTER_DATA_NOT_EXIST
	ResFilterDataNotLatest        = 28  // FILTER_DATA_NOT_LATEST
	ResTransactionShouldCommit    = 200 // TRANSACTION_SHOULD_COMMIT
	ResTransactionShouldRollback  = 201 // TRANSACTION_SHOULD_ROLLBACK
	ResTransactionStateUnknow     = 202 // TRANSACTION_STATE_UNKNOW
	ResTransactionStateGroupWrong = 203 // TRANSACTION_STATE_GROUP_WRONG
	ResNoBuyerID                  = 204 // NO_BUYER_ID
	ResNotInCurrentUnit           = 205 // NOT_IN_CURRENT_UNIT
	ResConsumerNotOnline          = 206 // CONSUMER_NOT_ONLINE
	ResConsumeMsgTimeout          = 207 // CONSUME_MSG_TIMEOUT
	ResNoMessage                  = 208 // NO_MESSAGE
	ResPollingFull                = 209 // POLLING_FULL
	ResPollingTimeout             = 210 // POLLING_TIMEOUT
	ResBrokerNotExist             = 211 // BROKER_NOT_EXIST
	ResBrokerDispatchNotComplete  = 212 // BROKER_DISPATCH_NOT_COMPLETE
	ResBroadcastConsumption       = 213 // BROADCAST_CONSUMPTION
	ResFlowControl                = 215 // FLOW_CONTROL
	ResNotLeaderForQueue          = 501 // NOT_LEADER_FOR_QUEUE
	ResIllegalOperation           = 604 // ILLEGAL_OPERATION
)

var requestCodeNames = map[int32]string{
	ReqSendMessage:                      "SEND_MESSAGE",
	ReqPullMessage:                      "PULL_MESSAGE",
	ReqQueryMessage:                     "QUERY_MESSAGE",
	ReqQueryBrokerOffset:                "QUERY_BROKER_OFFSET",
	ReqQueryConsumerOffset:              "QUERY_CONSUMER_OFFSET",
	ReqUpdateConsumerOffset:             "UPDATE_CONSUMER_OFFSET",
	ReqUpdateAndCreateTopic:             "UPDATE_AND_CREATE_TOPIC",
	ReqGetAllTopicConfig:                "GET_ALL_TOPIC_CONFIG",
	ReqGetTopicConfigList:               "GET_TOPIC_CONFIG_LIST",
	ReqGetTopicNameList:                 "GET_TOPIC_NAME_LIST",
	ReqUpdateBrokerConfig:               "UPDATE_BROKER_CONFIG",
	ReqGetBrokerConfig:                  "GET_BROKER_CONFIG",
	ReqTriggerDeleteFiles:               "TRIGGER_DELETE_FILES",
	ReqGetBrokerRuntimeInfo:             "GET_BROKER_RUNTIME_INFO",
	ReqSearchOffsetByTimestamp:          "SEARCH_OFFSET_BY_TIMESTAMP",
	ReqGetMaxOffset:                     "GET_MAX_OFFSET",
	ReqGetMinOffset:                     "GET_MIN_OFFSET",
	ReqGetEarliestMsgStoreTime:          "GET_EARLIEST_MSG_STORETIME",
	ReqViewMessageByID:                  "VIEW_MESSAGE_BY_ID",
	ReqHeartBeat:                        "HEART_BEAT",
	ReqUnregisterClient:                 "UNREGISTER_CLIENT",
	ReqConsumerSendMsgBack:              "CONSUMER_SEND_MSG_BACK",
	ReqEndTransaction:                   "END_TRANSACTION",
	ReqGetConsumerListByGroup:           "GET_CONSUMER_LIST_BY_GROUP",
	ReqCheckTransactionState:            "CHECK_TRANSACTION_STATE",
	ReqNotifyConsumerIDsChanged:         "NOTIFY_CONSUMER_IDS_CHANGED",
	ReqLockBatchMQ:                      "LOCK_BATCH_MQ",
	ReqUnlockBatchMQ:                    "UNLOCK_BATCH_MQ",
	ReqGetAllConsumerOffset:             "GET_ALL_CONSUMER_OFFSET",
	ReqGetAllDelayOffset:                "GET_ALL_DELAY_OFFSET",
	ReqCheckClientConfig:                "CHECK_CLIENT_CONFIG",
	ReqGetClientConfig:                  "GET_CLIENT_CONFIG",
	ReqUpdateAndCreateACLConfig:         "UPDATE_AND_CREATE_ACL_CONFIG",
	ReqDeleteACLConfig:                  "DELETE_ACL_CONFIG",
	ReqGetBrokerClusterACLInfo:          "GET_BROKER_CLUSTER_ACL_INFO",
	ReqUpdateGlobalWhiteAddrsConfig:     "UPDATE_GLOBAL_WHITE_ADDRS_CONFIG",
	ReqGetBrokerClusterACLConfig:        "GET_BROKER_CLUSTER_ACL_CONFIG",
	ReqPopMessage:                       "POP_MESSAGE",
	ReqAckMessage:                       "ACK_MESSAGE",
	ReqBatchAckMessage:                  "BATCH_ACK_MESSAGE",
	ReqPeekMessage:                      "PEEK_MESSAGE",
	ReqChangeMessageInvisibleTime:       "CHANGE_MESSAGE_INVISIBLETIME",
	ReqNotification:                     "NOTIFICATION",
	ReqPollingInfo:                      "POLLING_INFO",
	ReqPutKVConfig:                      "PUT_KV_CONFIG",
	ReqGetKVConfig:                      "GET_KV_CONFIG",
	ReqDeleteKVConfig:                   "DELETE_KV_CONFIG",
	ReqRegisterBroker:                   "REGISTER_BROKER",
	ReqUnregisterBroker:                 "UNREGISTER_BROKER",
	ReqGetRouteInfoByTopic:              "GET_ROUTEINFO_BY_TOPIC",
	ReqGetBrokerClusterInfo:             "GET_BROKER_CLUSTER_INFO",
	ReqUpdateAndCreateSubscriptionGroup: "UPDATE_AND_CREATE_SUBSCRIPTIONGROUP",
	ReqGetAllSubscriptionGroupConfig:    "GET_ALL_SUBSCRIPTIONGROUP_CONFIG",
	ReqGetTopicStatsInfo:                "GET_TOPIC_STATS_INFO",
	ReqGetConsumerConnectionList:        "GET_CONSUMER_CONNECTION_LIST",
	ReqGetProducerConnectionList:        "GET_PRODUCER_CONNECTION_LIST",
	ReqWipeWritePermOfBroker:            "WIPE_WRITE_PERM_OF_BROKER",
	ReqGetAllTopicListFromNameserver:    "GET_ALL_TOPIC_LIST_FROM_NAMESERVER",
	ReqDeleteSubscriptionGroup:          "DELETE_SUBSCRIPTIONGROUP",
	ReqGetConsumeStats:                  "GET_CONSUME_STATS",
	ReqSuspendConsumer:                  "SUSPEND_CONSUMER",
	ReqResumeConsumer:                   "RESUME_CONSUMER",
	ReqResetConsumerOffsetInConsumer:    "RESET_CONSUMER_OFFSET_IN_CONSUMER",
	ReqResetConsumerOffsetInBroker:      "RESET_CONSUMER_OFFSET_IN_BROKER",
	ReqAdjustConsumerThreadPool:         "ADJUST_CONSUMER_THREAD_POOL",
	ReqWhoConsumeTheMessage:             "WHO_CONSUME_THE_MESSAGE",
	ReqDeleteTopicInBroker:              "DELETE_TOPIC_IN_BROKER",
	ReqDeleteTopicInNameSrv:             "DELETE_TOPIC_IN_NAMESRV",
	ReqRegisterTopicInNameSrv:           "REGISTER_TOPIC_IN_NAMESRV",
	ReqGetKVListByNamespace:             "GET_KVLIST_BY_NAMESPACE",
	ReqResetConsumerClientOffset:        "RESET_CONSUMER_CLIENT_OFFSET",
	ReqGetConsumerStatusFromClient:      "GET_CONSUMER_STATUS_FROM_CLIENT",
	ReqInvokeBrokerToResetOffset:        "INVOKE_BROKER_TO_RESET_OFFSET",
	ReqInvokeBrokerToGetConsumerStatus:  "INVOKE_BROKER_TO_GET_CONSUMER_STATUS",
	ReqQueryTopicConsumeByWho:           "QUERY_TOPIC_CONSUME_BY_WHO",
	ReqGetTopicsByCluster:               "GET_TOPICS_BY_CLUSTER",
	ReqQueryTopicsByConsumer:            "QUERY_TOPICS_BY_CONSUMER",
	ReqQuerySubscriptionByConsumer:      "QUERY_SUBSCRIPTION_BY_CONSUMER",
	ReqQueryConsumeTimeSpan:             "QUERY_CONSUME_TIME_SPAN",
	ReqGetSystemTopicListFromNS:         "GET_SYSTEM_TOPIC_LIST_FROM_NS",
	ReqGetSystemTopicListFromBroker:     "GET_SYSTEM_TOPIC_LIST_FROM_BROKER",
	ReqCleanExpiredConsumeQueue:         "CLEAN_EXPIRED_CONSUMEQUEUE",
	ReqGetConsumerRunningInfo:           "GET_CONSUMER_RUNNING_INFO",
	ReqQueryCorrectionOffset:            "QUERY_CORRECTION_OFFSET",
	ReqConsumeMessageDirectly:           "CONSUME_MESSAGE_DIRECTLY",
	ReqSendMessageV2:                    "SEND_MESSAGE_V2",
	ReqGetUnitTopicList:                 "GET_UNIT_TOPIC_LIST",
	ReqGetHasUnitSubTopicList:           "GET_HAS_UNIT_SUB_TOPIC_LIST",
	ReqGetHasUnitSubUnunitTopicList:     "GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST",
	ReqCloneGroupOffset:                 "CLONE_GROUP_OFFSET",
	ReqViewBrokerStatsData:              "VIEW_BROKER_STATS_DATA",
	ReqCleanUnusedTopic:                 "CLEAN_UNUSED_TOPIC",
	ReqGetBrokerConsumeStats:            "GET_BROKER_CONSUME_STATS",
	ReqUpdateNameSrvConfig:              "UPDATE_NAMESRV_CONFIG",
	ReqGetNameSrvConfig:                 "GET_NAMESRV_CONFIG",
	ReqSendBatchMessage:                 "SEND_BATCH_MESSAGE",
	ReqQueryConsumeQueue:                "QUERY_CONSUME_QUEUE",
	ReqQueryDataVersion:                 "QUERY_DATA_VERSION",
	ReqResumeCheckHalfMessage:           "RESUME_CHECK_HALF_MESSAGE",
	ReqSendReplyMessage:                 "SEND_REPLY_MESSAGE",
	ReqSendReplyMessageV2:               "SEND_REPLY_MESSAGE_V2",
	ReqPushReplyMessageToClient:         "PUSH_REPLY_MESSAGE_TO_CLIENT",
	ReqAddWritePermOfBroker:             "ADD_WRITE_PERM_OF_BROKER",
	ReqGetTopicConfig:                   "GET_TOPIC_CONFIG",
	ReqGetSubscriptionGroupConfig:       "GET_SUBSCRIPTIONGROUP_CONFIG",
	ReqUpdateAndGetGroupForbidden:       "UPDATE_AND_GET_GROUP_FORBIDDEN",
	ReqLitePullMessage:                  "LITE_PULL_MESSAGE",
	ReqQueryAssignment:                  "QUERY_ASSIGNMENT",
	ReqSetMessageRequestMode:            "SET_MESSAGE_REQUEST_MODE",
	ReqGetAllMessageRequestMode:         "GET_ALL_MESSAGE_REQUEST_MODE",
	ReqUpdateAndCreateStaticTopic:       "UPDATE_AND_CREATE_STATIC_TOPIC",
	ReqGetAllProducerInfo:               "GET_ALL_PRODUCER_INFO",
}

var responseCodeNames = map[int32]string{
	ResSuccess:                    "SUCCESS",
	ResSystemError:                "SYSTEM_ERROR",
	ResSystemBusy:                 "SYSTEM_BUSY",
	ResRequestCodeNotSupported:    "REQUEST_CODE_NOT_SUPPORTED",
	ResTransactionFailed:          "TRANSACTION_FAILED",
	ResFlushDiskTimeout:           "FLUSH_DISK_TIMEOUT",
	ResSlaveNotAvailable:          "SLAVE_NOT_AVAILABLE",
	ResFlushSlaveTimeout:          "FLUSH_SLAVE_TIMEOUT",
	ResMessageIllegal:             "MESSAGE_ILLEGAL",
	ResServiceNotAvailable:        "SERVICE_NOT_AVAILABLE",
	ResVersionNotSupported:        "VERSION_NOT_SUPPORTED",
	ResNoPermission:               "NO_PERMISSION",
	ResTopicNotExist:              "TOPIC_NOT_EXIST",
	ResTopicExistAlready:          "TOPIC_EXIST_ALREADY",
	ResPullNotFound:               "PULL_NOT_FOUND",
	ResPullRetryImmediately:       "PULL_RETRY_IMMEDIATELY",
	ResPullOffsetMoved:            "PULL_OFFSET_MOVED",
	ResQueryNotFound:              "QUERY_NOT_FOUND",
	ResSubscriptionParseFailed:    "SUBSCRIPTION_PARSE_FAILED",
	ResSubscriptionNotExist:       "SUBSCRIPTION_NOT_EXIST",
	ResSubscriptionNotLatest:      "SUBSCRIPTION_NOT_LATEST",
	ResSubscriptionGroupNotExist:  "SUBSCRIPTION_GROUP_NOT_EXIST",
	ResFilterDataNotExist:         "FILTER_DATA_NOT_EXIST",
	ResFilterDataNotLatest:        "FILTER_DATA_NOT_LATEST",
	ResTransactionShouldCommit:    "TRANSACTION_SHOULD_COMMIT",
	ResTransactionShouldRollback:  "TRANSACTION_SHOULD_ROLLBACK",
	ResTransactionStateUnknow:     "TRANSACTION_STATE_UNKNOW",
	ResTransactionStateGroupWrong: "TRANSACTION_STATE_GROUP_WRONG",
	ResNoBuyerID:                  "NO_BUYER_ID",
	ResNotInCurrentUnit:           "NOT_IN_CURRENT_UNIT",
	ResConsumerNotOnline:          "CONSUMER_NOT_ONLINE",
	ResConsumeMsgTimeout:          "CONSUME_MSG_TIMEOUT",
	ResNoMessage:                  "NO_MESSAGE",
	ResPollingFull:                "POLLING_FULL",
	ResPollingTimeout:             "POLLING_TIMEOUT",
	ResBrokerNotExist:             "BROKER_NOT_EXIST",
	ResBrokerDispatchNotComplete:  "BROKER_DISPATCH_NOT_COMPLETE",
	ResBroadcastConsumption:       "BROADCAST_CONSUMPTION",
	ResFlowControl:                "FLOW_CONTROL",
	ResNotLeaderForQueue:          "NOT_LEADER_FOR_QUEUE",
	ResIllegalOperation:           "ILLEGAL_OPERATION",
}

// RequestCodeName is the Java name of a request code ("SEND_MESSAGE"), or "" if unknown.
func RequestCodeName(code int32) string { return requestCodeNames[code] }

// ResponseCodeName is the Java name of a response code ("TOPIC_NOT_EXIST"), or "" if unknown.
func ResponseCodeName(code int32) string { return responseCodeNames[code] }
