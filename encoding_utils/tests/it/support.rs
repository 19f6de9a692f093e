//! Shared support: the development gateway and S3 server on loopback, and
//! clients logged in to them.
#![allow(dead_code, unreachable_pub)]

use ms_utils_communication::s3::S3BucketClient;
use ms_utils_communication::ws::{Message, MicroServiceWs};
use ms_utils_dev::gateway::DevGateway;
use ms_utils_dev::s3::DevS3Server;
pub use ms_utils_dev::testing::within;
use tokio::sync::mpsc;

/// The bucket jobs use.
pub const BUCKET: &str = "jobs";
/// The service sending jobs.
pub const CONSUMER: &str = "consumer";
/// A service answering calls in the tests (not a worker).
pub const ECHO: &str = "echo";
/// A gateway knowing `consumer`, `workers_manager`, `caller` and `echo`, and
/// an S3 server with the jobs bucket.
pub struct Servers {
    pub gateway: DevGateway,
    pub s3_server: DevS3Server,
    pub s3: S3BucketClient,
}

impl Servers {
    pub async fn start() -> Servers {
        let gateway = DevGateway::builder()
            .user(CONSUMER, "consumer-pw")
            .user("workers_manager", "workers-pw")
            .user("caller", "caller-pw")
            .user(ECHO, "echo-pw")
            .start()
            .await
            .unwrap();
        let s3_server = DevS3Server::builder().bucket(BUCKET).start().await.unwrap();
        let s3 = S3BucketClient::new("test", s3_server.client_config())
            .await
            .unwrap();
        Servers {
            gateway,
            s3_server,
            s3,
        }
    }

    /// A client logged in as `user` (password `<user-prefix>-pw`).
    pub async fn connect(&self, user: &str) -> MicroServiceWs {
        let password = match user {
            "workers_manager" => "workers-pw",
            "consumer" => "consumer-pw",
            ECHO => "echo-pw",
            _ => "caller-pw",
        };
        let ms = within(
            "connect",
            MicroServiceWs::builder(self.gateway.host())
                .tls(false)
                .credentials(user, password)
                .connect(),
        )
        .await
        .unwrap();
        within(
            "gateway sees the user",
            self.gateway.faults().wait_connected(user),
        )
        .await;
        ms
    }

    /// A `workers_manager` client whose messages arrive on the returned channel,
    /// for tests that play the worker by hand.
    pub async fn manual_worker(&self) -> (MicroServiceWs, mpsc::UnboundedReceiver<Message>) {
        self.listening("workers_manager").await
    }

    /// A client logged in as `user` whose `run` handler passes every message
    /// it gets to the returned channel: what reaches the application.
    pub async fn listening(
        &self,
        user: &str,
    ) -> (MicroServiceWs, mpsc::UnboundedReceiver<Message>) {
        let ms = self.connect(user).await;
        let (tx, rx) = mpsc::unbounded_channel();
        let run = ms.run(move |msg: Message| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(msg);
                Ok::<(), std::convert::Infallible>(())
            }
        });
        drop(run);
        (ms, rx)
    }

    /// The keys of the jobs bucket under `prefix`.
    pub async fn keys(&self, prefix: &str) -> Vec<String> {
        within("list", self.s3.list_files_with_prefix(BUCKET, prefix))
            .await
            .unwrap()
    }
}

/// The input object named by an encoding task (`params.object_name`).
pub fn input_of(task: &Message) -> String {
    task_parts(task).3["params"]["object_name"]
        .as_str()
        .expect("an encoding task names its input")
        .to_owned()
}

/// The `(from, referenceId, jobId, data)` of an `ms-task`.
pub fn task_parts(msg: &Message) -> (String, String, String, serde_json::Value) {
    let d = msg.data().expect("an ms-task has data");
    let s = |k: &str| d[k].as_str().unwrap_or_default().to_owned();
    (s("from"), s("referenceId"), s("jobId"), d["data"].clone())
}
