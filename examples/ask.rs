//! Ask one question of a database and print the events as JSON lines.
//!
//! `cargo run -p aigis-examples --example ask -- sqlite://demo.db "How many orders per store?"`

use futures::StreamExt;

#[tokio::main]
async fn main() -> aigis_core::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(db), Some(question)) = (args.next(), args.next()) else {
        eprintln!("usage: ask DATABASE_URL QUESTION");
        std::process::exit(2);
    };
    let connection = aigis_core::connect(&db).await?;
    let provider = aigis_core::ProviderConfig::from_env()?.build()?;
    let assistant = aigis_core::Assistant::builder(provider, connection).build();
    let mut events = assistant.ask(question);
    while let Some(event) = events.next().await {
        println!("{}", serde_json::to_string(&event?)?);
    }
    Ok(())
}
