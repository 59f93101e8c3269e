//! Password accounts: argon2 hashes in the store, created through the admin command or on
//! first login where that is configured, checked at every login, kept across restarts.

use darkstar_client::{Client, ClientError, Endpoint};
use darkstar_examples::chat::ChatApp;
use darkstar_runtime::{AccountCommand, Config, Server};

fn server(dir: &std::path::Path, register_on_login: bool) -> Server {
    let config = Config {
        data_dir: dir.to_owned(),
        cores: 1,
        tcp_addr: Some("127.0.0.1:0".parse().unwrap()),
        register_on_login,
        ..Config::default()
    };
    Server::builder(ChatApp).config(config).start().unwrap()
}

async fn login(server: &Server, name: &str, password: &str) -> Result<Client, ClientError> {
    let endpoint = Endpoint::tcp(server.tcp_addr().unwrap().to_string());
    Client::connect(endpoint, name, password).await
}

fn refusal(result: Result<Client, ClientError>) -> String {
    match result {
        Err(ClientError::LoginRefused(reason)) => reason,
        Err(e) => panic!("expected a refusal, got {e}"),
        Ok(_) => panic!("expected a refusal, got a session"),
    }
}

fn run(server: &Server, command: AccountCommand, stdin: &str) -> Result<String, String> {
    command
        .run(server.accounts(), stdin.as_bytes())
        .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_command_manages_accounts_that_logins_check() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), false);
    let create = |name: &str| AccountCommand::Create { name: name.into() };

    assert_eq!(
        run(&server, create("alice"), "correct horse\n"),
        Ok("account \"alice\" created".into())
    );
    assert_eq!(
        run(&server, create("alice"), "other\n"),
        Err("account \"alice\" exists already".into())
    );
    assert_eq!(
        run(&server, create("bob"), "\n"),
        Err("the password (first line of standard input) is empty".into())
    );
    assert_eq!(
        run(&server, create(""), "pw\n"),
        Err("invalid account name \"\": it is empty".into())
    );
    assert_eq!(
        run(&server, AccountCommand::Exists { name: "bob".into() }, ""),
        Ok("no account named \"bob\"".into())
    );

    let alice = login(&server, "alice", "correct horse").await.unwrap();
    alice.logout().await.unwrap();
    assert_eq!(
        refusal(login(&server, "alice", "wrong").await),
        "unknown account or wrong password"
    );
    assert_eq!(
        refusal(login(&server, "mallory", "anything").await),
        "unknown account or wrong password"
    );

    assert_eq!(
        run(
            &server,
            AccountCommand::SetPassword {
                name: "alice".into()
            },
            "battery staple\r\n"
        ),
        Ok("password of \"alice\" changed".into())
    );
    assert_eq!(
        run(
            &server,
            AccountCommand::SetPassword { name: "bob".into() },
            "pw\n"
        ),
        Err("no account named \"bob\"".into())
    );
    refusal(login(&server, "alice", "correct horse").await);
    login(&server, "alice", "battery staple").await.unwrap();
    server.shutdown().unwrap();

    // Accounts are in the store: a restart keeps them.
    let server = self::server(dir.path(), false);
    assert!(server.accounts().exists("alice"));
    login(&server, "alice", "battery staple").await.unwrap();
    refusal(login(&server, "alice", "correct horse").await);
    server.shutdown().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_names_register_on_first_login_where_configured() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), true);
    assert!(!server.accounts().exists("carol"));
    let carol = login(&server, "carol", "first").await.unwrap();
    carol.logout().await.unwrap();
    assert!(server.accounts().exists("carol"));
    // The password chosen at the first login is the account's password from then on.
    assert_eq!(
        refusal(login(&server, "carol", "second").await),
        "unknown account or wrong password"
    );
    login(&server, "carol", "first").await.unwrap();
    server.shutdown().unwrap();
}
